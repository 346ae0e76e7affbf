"""Stage 2: find the content lines of an article, drop web boilerplate, lift metadata.

Cleaning never rewrites the article: it returns spans into the original text, so every
later offset still points into the file. Unicode/whitespace normalisation is applied to
the *keys* used for matching and embedding (`normalize`), not to the stored text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from index.load import Article

_BOILERPLATE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"author[-_ ]?gravatar",
        r"leave a (comment|reply)\s*:?",
        r"this post has \d+ comments?\s*:?",
        r"\d+ comments?\s*:?",
        r"(share|tweet|pin|email|print)( (this|on \w+))?\s*:?",
        r"(subscribe|sign up)( to our newsletter| now)?[.!]?",
        r"(related|recommended|read more|advertisement|click here[^.]*)\s*:?",
        r"(previous|next) (post|article)\s*:?.{0,120}",
        r"all rights reserved\.?.*|©.*|copyright \d{4}.*",
        r"cookies?( policy| settings)?.{0,60}",
    )
]
_AUTHOR = re.compile(r"(?:author|written by|by)\s*[:\-]\s*(?P<name>[^\n]{1,80})$", re.IGNORECASE)
# "By Jane Doe" alone on its line: a byline when every word after "By" is capitalised ("By
# 1620 the Huguenots were ..." opens a paragraph).
_BYLINE = re.compile(
    r"(?i:by)\s+(?P<name>[A-Z][\w.'’-]*(?:,?\s+(?:(?:and|&)\s+)?[A-Z][\w.'’-]*){0,5})"
)
_MD_HEADING = re.compile(r"#{1,6}\s+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class CleanArticle:
    id: str
    text: str
    title: str
    author: str | None
    author_span: Span | None  # the line naming the author, kept out of the content
    blocks: tuple[Span, ...]  # content lines, in order, as offsets into `text`
    dropped: tuple[Span, ...]  # boilerplate and metadata lines


def normalize(text: str) -> str:
    """NFKC, one space between words: the form used to compare and embed text."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _is_headline(line: str) -> bool:
    words = line.split()
    return 2 <= len(words) <= 25 and not line.rstrip().endswith((".", "?", "!", ":", ",", ";"))


def clean(article: Article, catalog_title: str | None = None) -> CleanArticle:
    blocks: list[Span] = []
    dropped: list[Span] = []
    author: str | None = None
    author_span: Span | None = None
    pos = 0
    for raw_line in article.text.split("\n"):
        line_start, pos = pos, pos + len(raw_line) + 1
        stripped = raw_line.strip()
        if not stripped:
            continue
        start = line_start + raw_line.index(stripped[0])
        span = Span(start, start + len(stripped))
        flat = normalize(stripped)
        match = _AUTHOR.fullmatch(flat) or _BYLINE.fullmatch(flat)
        if any(p.fullmatch(flat) for p in _BOILERPLATE):
            dropped.append(span)
        elif match and author is None and len(match["name"].split()) <= 6:
            author = match["name"].strip()
            author_span = span
            dropped.append(span)
        else:
            blocks.append(span)
    title = catalog_title
    if title is None and blocks:
        first = normalize(article.text[blocks[0].start : blocks[0].end])
        first = _MD_HEADING.sub("", first)
        title = first if _is_headline(first) else None
    if title is None:
        stem = article.path.stem if article.path.stem else article.id
        title = stem.replace("_", " ").replace("-", " ")
    return CleanArticle(
        id=article.id,
        text=article.text,
        title=title,
        author=author,
        author_span=author_span,
        blocks=tuple(blocks),
        dropped=tuple(dropped),
    )
