"""The cheap stages (load, clean, dedupe, chunk) on real files, no embedding model."""

from __future__ import annotations

from pathlib import Path

from index.chunk import chunk, token_counter
from index.clean import Span, clean, normalize
from index.dedupe import dedupe, split_sentences
from index.load import load
from index.settings import bundled_model_dir
from tests.conftest import SEEDS

SEED_FILES = sorted(SEEDS.glob("*.txt"))


def _pipeline(paths: list[Path]):  # type: ignore[no-untyped-def]
    loaded = load(paths, 10**8)
    docs = dedupe([clean(a) for a in loaded.articles])
    counter = token_counter(bundled_model_dir())
    return loaded, docs, [c for d in docs for c in chunk(d, counter, 128)], counter


def test_bad_files_are_reported_by_name_and_good_ones_still_load(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("North Korea sent troops. They trained in Russia.\n")
    (tmp_path / "page.html").write_text(
        "<html><head><title>x</title><script>alert(1)</script></head>"
        "<body><h1>Headline here</h1><p>Body &amp; text.</p></body></html>"
    )
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (tmp_path / "empty.md").write_text("   \n\n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "notes.csv").write_text("a,b\n")
    loaded = load([tmp_path], 10**8)
    assert [a.id for a in loaded.articles] == ["good.txt", "page.html"]
    assert loaded.articles[1].text == "Headline here\nBody & text."
    reasons = {s.path.name: s.reason for s in loaded.skipped}
    assert set(reasons) == {"binary.txt", "empty.md", "latin1.txt"}
    assert "binary" in reasons["binary.txt"]
    assert "empty" in reasons["empty.md"]
    assert "UTF-8" in reasons["latin1.txt"]


def test_oversized_and_missing_paths_are_skipped(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("word " * 1000)
    loaded = load([big, tmp_path / "nope.txt"], max_bytes=100)
    assert not loaded.articles
    assert [s.reason.split(" ")[0] for s in loaded.skipped] == ["too", "no"]


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Some real text here.")
    (tmp_path / "loop").symlink_to(tmp_path)
    loaded = load([tmp_path], 10**8)
    assert [a.id for a in loaded.articles] == ["a.txt"]


def test_clean_drops_boilerplate_keeps_source_text() -> None:
    art = load([SEEDS / "003_69af64450ae759f3.txt"], 10**8).articles[0]
    c = clean(art)
    kept = "\n".join(art.text[b.start : b.end] for b in c.blocks)
    dropped = "\n".join(art.text[b.start : b.end] for b in c.dropped)
    assert c.author == "Emma"
    for line in (
        "author-gravatar",
        "Author: Emma",
        "This post has 5 comments:",
        "Leave a comment:",
    ):
        assert line in dropped and line not in kept
    assert "[specific date]" in kept
    assert "护卫舰" in kept  # the source's own words stay


def test_a_by_line_is_lifted_but_a_paragraph_opening_with_by_is_kept(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        "Harbour fees rise\nBy Ilse Varga and Oren Pike\n"
        "By 1620 the harbour had two piers. The fees rose in May.\n",
        encoding="utf-8",
    )
    art = load([tmp_path / "a.txt"], 10**8).articles[0]
    c = clean(art)
    kept = "\n".join(art.text[b.start : b.end] for b in c.blocks)
    assert c.author == "Ilse Varga and Oren Pike"
    assert c.author_span is not None
    assert art.text[c.author_span.start : c.author_span.end] == "By Ilse Varga and Oren Pike"
    assert "By 1620 the harbour" in kept and "Ilse Varga" not in kept


_WRAPPED = """Harbour Notes
=============

The harbour commission met on Tuesday to decide how the new pier would be
paid for, and after a long debate it voted to raise the mooring fees by a
tenth from the first of June. Ilse Varga, who chairs the commission, said
the fees had not risen for nine years.

Three options were weighed:
 * Raising the mooring fees.  This was chosen, by a vote of five to
   two, after the harbour master spoke for it at some length.
 * A loan from the regional bank, which the treasurer turned down.

The pier is expected to open in the spring of next year, if the weather
allows the piling to start before the first autumn storms arrive.

```
fees = {"mooring": 110, "berth": 240, "crane hire per hour": 75, "water": 5}
print(fees)
```
"""


def test_hard_wrapped_paragraphs_are_one_block_and_sentences_are_whole(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text(_WRAPPED, encoding="utf-8")
    art = load([tmp_path / "notes.txt"], 10**8).articles[0]
    c = clean(art)
    blocks = [art.text[b.start : b.end] for b in c.blocks]
    assert c.title == "Harbour Notes"
    # A sentence broken over lines is read whole; offsets still point into the file.
    doc = dedupe([c])[0]
    sentences = [normalize(art.text[s.start : s.end]) for s in doc.sentences]
    assert (
        "Ilse Varga, who chairs the commission, said the fees had not risen for nine years."
        in sentences
    )
    assert any(s.startswith("This was chosen, by a vote of five to two,") for s in sentences)
    # Headings, rules, a list's items and paragraphs stay apart.
    assert "Three options were weighed:" in blocks
    assert any(b.startswith("* A loan") for b in blocks)
    assert not any("weighed" in b and "Raising" in b for b in blocks)
    assert sum("pier is expected" in b for b in blocks) == 1
    # A code fence's lines stay lines, whatever their width.
    assert "print(fees)" in blocks and any(b.startswith("fees = {") for b in blocks)


def test_short_lines_that_are_headlines_are_not_joined(tmp_path: Path) -> None:
    # A digest of headlines, one to a line: as short as wrapped lines, but none runs on.
    heads = [
        "Harbour commission votes to raise mooring fees by a tenth from June",
        "Regional bank turns down the loan for the new pier at Kell",
        "Storm damage closes the coast road between Kell and Brenlow for a week",
        "Apple growers of the Brenn valley report their largest harvest in years",
        "Ferry timetable changes for the winter months announced by the operator",
        "New cold store opens in Brenlow with room for 3,600 tonnes of apples",
    ]
    (tmp_path / "digest.txt").write_text("\n".join(heads) + "\n", encoding="utf-8")
    art = load([tmp_path / "digest.txt"], 10**8).articles[0]
    assert [art.text[b.start : b.end] for b in clean(art).blocks] == heads


def test_lines_that_are_paragraphs_are_not_joined() -> None:
    # News text puts a paragraph on each line: nothing is joined, even short lines.
    for path in SEED_FILES:
        art = load([path], 10**8).articles[0]
        lines = [line.strip() for line in art.text.split("\n") if line.strip()]
        c = clean(art)
        assert all("\n" not in art.text[b.start : b.end] for b in c.blocks)
        assert len(c.blocks) + len(c.dropped) == len(lines)


def test_titles_come_from_headlines_or_catalog() -> None:
    arts = {a.id: a for a in load([SEEDS], 10**8).articles}
    assert clean(arts["001_a098e6d6fb83daf6.txt"]).title.startswith("North Korea sends troops")
    # A first line that is a sentence is no headline: the catalog title is used instead.
    assert clean(arts["002_fc85c1dbd36f727a.txt"], "Given").title == "Given"
    assert not clean(arts["002_fc85c1dbd36f727a.txt"]).title.startswith("As the war")


def test_repeated_paragraphs_are_kept_once() -> None:
    _, docs, chunks, _ = _pipeline(SEED_FILES)
    repeated = "As the war in Ukraine drags on, a surprising new player"
    text = (SEEDS / "002_fc85c1dbd36f727a.txt").read_text()
    assert text.count(repeated) == 2
    assert sum(c.text.count(repeated) for c in chunks) == 1
    assert sum(d.duplicates for d in docs) >= 9
    sentences = [
        normalize(c.text[s - c.start : e - c.start]) for c in chunks for s, e in c.sentences
    ]
    assert len(sentences) == len(set(sentences))


def test_sentences_split_at_ends_not_at_abbreviations_figures_or_urls() -> None:
    text = (
        "Intro line\n"
        "The U.S. said Mr. Kim sent ca. 10,000 men on Oct. 3. Is it true? "
        "See https://example.com/a.b?x=1. Prices rose 3.5% vs. Dec. 2023! "
        'Code <script>window.__pwned = "x"</script> stays whole. 朝鲜派兵。俄罗斯否认。'
    )
    line = Span(text.index("The"), len(text))
    spans = split_sentences(text, line)
    assert [text[s.start : s.end] for s in spans] == [
        "The U.S. said Mr. Kim sent ca. 10,000 men on Oct. 3.",
        "Is it true?",
        "See https://example.com/a.b?x=1.",
        "Prices rose 3.5% vs. Dec. 2023!",
        'Code <script>window.__pwned = "x"</script> stays whole.',
        "朝鲜派兵。",
        "俄罗斯否认。",
    ]


def test_near_duplicates_are_dropped_but_different_figures_kept(tmp_path: Path) -> None:
    base = (
        "The intelligence agency said that about 1,500 soldiers had been moved by ship to the "
        "port of Vladivostok for training before deployment"
    )
    (tmp_path / "a.txt").write_text(base + ".\n")
    (tmp_path / "b.txt").write_text(base.replace("The intelligence", "An intelligence") + "!\n")
    (tmp_path / "c.txt").write_text(base.replace("1,500", "3,000") + ".\n")
    _, docs, _, _ = _pipeline([tmp_path])
    kept = {d.article.id: len(d.sentences) for d in docs}
    assert kept == {"a.txt": 1, "b.txt": 0, "c.txt": 1}


def test_chunk_offsets_point_into_the_file_and_fit_the_window() -> None:
    _, _, chunks, counter = _pipeline(SEED_FILES)
    assert chunks
    for c in chunks:
        assert (SEEDS / c.article_id).read_text()[c.start : c.end] == c.text
        assert counter.counts([c.text])[0] <= counter.limit
        assert c.sentences[0][0] == c.start and c.sentences[-1][1] == c.end


def test_an_overlong_sentence_is_split_not_truncated(tmp_path: Path) -> None:
    words = [f"word{i}" for i in range(1500)]
    (tmp_path / "long.txt").write_text(" ".join(words))
    _, _, chunks, counter = _pipeline([tmp_path])
    assert len(chunks) > 3
    assert all(counter.counts([c.text])[0] <= counter.limit for c in chunks)
    joined = " ".join(c.text for c in chunks)
    assert joined.split() == words
