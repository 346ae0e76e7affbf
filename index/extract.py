"""Stage 1a: the article text (and what is known about it) inside one file's bytes.

Text and Markdown are decoded as they are. News HTML goes through trafilatura: the main text
with its title, author, date and site name, without navigation, ads or comments (a page too
small for trafilatura to find an article falls back to all its visible text). PDF goes
through pypdf, page by page; `pages` records where each page starts in the text, so a
citation can name its page. What is returned is the text every offset points into.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from index.html_text import html_to_text

TEXT_SUFFIXES = frozenset({".txt", ".md"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
PAGE_BREAK = "\n\n"


class ExtractError(ValueError):
    """The file holds no usable text; the message says why and what to do."""


@dataclass(frozen=True)
class Extracted:
    text: str
    kind: str  # "text", "html" or "pdf"
    meta: dict[str, Any] = field(default_factory=dict)  # title, author, date, outlet, pages


def extract(suffix: str, data: bytes) -> Extracted:
    """The text of a file with this suffix (".txt", ".md", ".html", ".htm" or ".pdf")."""
    suffix = suffix.lower()
    if suffix in PDF_SUFFIXES:
        result = _pdf(data)
    else:
        text = _decode(data)
        result = _html(text) if suffix in HTML_SUFFIXES else Extracted(text, "text")
    if not result.text.strip():
        raise ExtractError("empty (no text)")
    return result


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise ExtractError("binary file (contains NUL bytes)")
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExtractError(
            f"not valid UTF-8 (bad byte at offset {exc.start}); re-save it as UTF-8"
        ) from None
    # Universal newlines, exactly as `open(path).read()` sees the file.
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def _html(page: str) -> Extracted:
    import trafilatura

    doc = trafilatura.bare_extraction(
        page, with_metadata=True, include_comments=False, include_images=False
    )
    found: dict[str, Any] = {}
    if doc is not None:
        found = doc if isinstance(doc, dict) else doc.as_dict()
    text = found.get("text") or ""
    if not text.strip():  # no article structure found: keep every visible line
        return Extracted(html_to_text(page), "html")
    meta = {
        "title": found.get("title"),
        "author": found.get("author"),
        "date": found.get("date"),
        "outlet": found.get("sitename"),
    }
    return Extracted(text, "html", {k: v for k, v in meta.items() if v})


def _pdf(data: bytes) -> Extracted:
    if not data.lstrip()[:5] == b"%PDF-":
        raise ExtractError(
            "not a PDF (it does not start with %PDF-); export it as PDF again, "
            "or save its text as .txt"
        )
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractError("an encrypted PDF; save a copy without a password and send that")
        pages = [_reflow(page.extract_text() or "") for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except ExtractError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractError(f"a damaged PDF ({exc}); export it as PDF again") from None
    if not any(pages):
        raise ExtractError(
            "a PDF without a text layer (a scan?); run it through OCR or send its text as .txt"
        )
    starts, pos = [], 0
    for text in pages:
        starts.append(pos)
        pos += len(text) + len(PAGE_BREAK)
    meta: dict[str, Any] = {"pages": starts}
    if isinstance(title, str) and title.strip():
        meta["title"] = " ".join(title.split())
    return Extracted(PAGE_BREAK.join(pages), "pdf", meta)


def _reflow(page: str) -> str:
    """One page's text with wrapped lines joined: a line that fills most of the page's
    width and does not end a sentence was wrapped by the layout, not by the author."""
    lines = [line.rstrip() for line in page.strip().split("\n")]
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    for line in lines:
        if out and out[-1] and len(out[-1]) >= 0.6 * width and not out[-1].endswith(_ENDS):
            out[-1] = f"{out[-1]} {line.lstrip()}"
        else:
            out.append(line)
    return "\n".join(out)


_ENDS = (".", "!", "?", ":", ";", '"', "”", "’")


def page_of(meta: dict[str, Any], offset: int) -> int | None:
    """The 1-based page holding `offset`, for an article extracted from a PDF."""
    from bisect import bisect_right

    starts = meta.get("pages")
    return bisect_right(starts, offset) if starts else None
