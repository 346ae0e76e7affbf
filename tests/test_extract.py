"""Loading uploaded articles: news HTML through trafilatura, PDF through pypdf, and every
bad file (binary, empty, too large, wrong type) rejected with a reason, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.articles import Upload, article_id, stage
from index.extract import ExtractError, extract, page_of
from index.settings import Settings
from tests.articles_data import (
    BINARY_PDF,
    EMPTY,
    MARKUP_PAGE,
    NEWS_PAGE,
    PDF_PAGES,
    make_pdf,
)


def test_news_page_keeps_the_story_and_its_metadata_and_drops_the_rest() -> None:
    found = extract(".html", NEWS_PAGE.read_bytes())
    assert found.kind == "html"
    assert found.meta == {
        "title": "Velmora Harbour Switches On Saltwind Tidal Turbine",
        "author": "Priya Nandakumar",
        "date": "2024-03-14",
        "outlet": "The Coastal Ledger",
    }
    assert "designed by the marine engineer Odile Ferrand" in found.text
    assert "second turbine is planned for 2026" in found.text
    for junk in (
        "Subscribe for 1 dollar",  # navigation
        "Luxury cruises",  # ads
        "miracle supplement",
        "seagull_fan88",  # comments
        "another eyesore",
        "Related stories",
        "All rights reserved",  # footer
        "dataLayer",  # scripts
    ):
        assert junk not in found.text, junk


def test_markup_written_in_a_page_is_kept_as_text_and_its_scripts_dropped() -> None:
    found = extract(".html", MARKUP_PAGE.read_bytes())
    assert '<script>alert("gotcha")</script>' in found.text
    assert "<img src=x onerror=steal()>" in found.text
    assert "__pwned" not in found.text
    assert found.meta["outlet"] == "Tech Wire Daily"


def test_pdf_text_keeps_its_page_starts(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "report.pdf", title="Orchard Cooperative Annual Report")
    found = extract(".pdf", pdf.read_bytes())
    assert found.kind == "pdf"
    assert found.meta["title"] == "Orchard Cooperative Annual Report"
    starts = found.meta["pages"]
    assert len(starts) == 3 and starts[0] == 0
    for n, page in enumerate(PDF_PAGES, 1):
        first_words = page.split("\n")[0]
        at = found.text.index(first_words)
        assert at == starts[n - 1]
        assert page_of(found.meta, at) == n
        assert page_of(found.meta, at + 20) == n
    assert page_of({}, 5) is None
    # Lines the layout wrapped are joined again, so a sentence is one span of text.
    assert "opened by the agriculture minister Ruth Okonjo in September." in found.text


@pytest.mark.parametrize(
    ("suffix", "data", "reason"),
    [
        (".pdf", BINARY_PDF.read_bytes(), "not a PDF"),
        (".pdf", b"%PDF-1.7\n" + b"garbage " * 50, "damaged PDF"),
        (".txt", EMPTY.read_bytes(), "empty"),
        (".html", b"<html><body><script>go()</script> \n </body></html>", "empty"),
        (".txt", b"\x00\x01binary", "binary"),
        (".md", "café".encode("latin-1"), "UTF-8"),
    ],
    ids=["binary-named-pdf", "truncated-pdf", "empty", "html-without-text", "nul", "latin-1"],
)
def test_bad_files_say_why(suffix: str, data: bytes, reason: str) -> None:
    with pytest.raises(ExtractError, match=reason):
        extract(suffix, data)


def test_stage_checks_type_size_count_and_names(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_upload_mb=0.01, max_upload_files=6)
    too_big = b"A sentence about nothing in particular. " * 400  # 16 kB > 10 kB
    staged, rejected = stage(
        settings,
        [
            Upload("../../etc/story.md", b"# A story\nIt happened on Monday."),
            Upload("notes.docx", b"PK\x03\x04"),
            Upload("huge.txt", too_big),
            Upload("binary.pdf", BINARY_PDF.read_bytes()),
            Upload("empty.txt", b""),
            Upload("story.md", b"# Again\nSent twice."),
        ],
    )
    assert [s.id for s in staged] == ["story.md"]
    reasons = {r.name: r.reason for r in rejected}
    assert "unsupported file type '.docx'" in reasons["notes.docx"]
    assert "too large" in reasons["huge.txt"] and "QA_MAX_UPLOAD_MB" in reasons["huge.txt"]
    assert "not a PDF" in reasons["binary.pdf"]
    assert "empty" in reasons["empty.txt"]
    assert "sent twice" in reasons["story.md"]
    from index.errors import BadInputError

    with pytest.raises(BadInputError, match="QA_MAX_UPLOAD_FILES"):
        stage(settings, [Upload(f"{i}.txt", b"x") for i in range(7)])
    with pytest.raises(BadInputError, match="No file"):
        stage(settings, [])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("story.html", "story.html"),
        ("C:\\Users\\me\\Saved Page.htm", "Saved Page.htm"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("we<i>rd?.txt", "we_i_rd_.txt"),
        ("..", ""),
    ],
)
def test_article_ids_are_safe_file_names(name: str, expected: str) -> None:
    assert article_id(name) == expected
