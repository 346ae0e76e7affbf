"""Stage 2: find the content lines of an article, drop web boilerplate, lift metadata.

A content block is a line, or in hard-wrapped text (plain text or Markdown broken at ~80
characters) the lines of one paragraph: a sentence broken over two lines stays one sentence.

Cleaning never rewrites the article: it returns spans into the original text, so every
later offset still points into the file. Unicode/whitespace normalisation is applied to
the *keys* used for matching and embedding (`normalize`), not to the stored text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import pairwise

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
# 1620 the harbour had two piers" opens a paragraph).
_BYLINE = re.compile(
    r"(?i:by)\s+(?P<name>[A-Z][\w.'’-]*(?:,?\s+(?:(?:and|&)\s+)?[A-Z][\w.'’-]*){0,5})"
)
_MD_HEADING = re.compile(r"#{1,6}\s+")
# Hard-wrapped text (see `wrap_width`): lines wrapped at most this wide, a line counting as
# filled when it reaches this share of the width, and enough lines running on.
_MAX_WRAP = 100
_FULL_LINE = 0.6
_RUN_ON_SHARE = 0.3
_SMALL_SHARE = 0.2  # of the lines run on into, the share going on with a small letter
_MIN_WRAPPED_LINES = 5
# A line that starts a block of its own: a Markdown heading, a list item, a quote, a table row.
_BLOCK_START = re.compile(r"(?:#{1,6}\s|[*+>|-]\s|\d{1,3}[.)]\s)")


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
    blocks: tuple[Span, ...]  # content blocks, in order, as offsets into `text`
    dropped: tuple[Span, ...]  # boilerplate and metadata lines


def normalize(text: str) -> str:
    """NFKC, one space between words: the form used to compare and embed text."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _is_headline(line: str) -> bool:
    words = line.split()
    return 2 <= len(words) <= 25 and not line.rstrip().endswith((".", "?", "!", ":", ",", ";"))


def wrap_width(lines: list[str]) -> int | None:
    """The width a hard-wrapped text was wrapped at (plain text and Markdown broken into lines
    of at most ~80 characters, a paragraph running over several lines); None when lines are
    paragraphs, as in most web and news text. Wrapped: the longest lines (the 90th percentile)
    are at most `_MAX_WRAP` characters, a good share of lines run on into the next, and some
    of those next lines go on with a small letter (a sentence broken off, not a list of
    headlines one to a line)."""
    lengths = [len(line.rstrip()) for line in lines if line.strip()]
    if len(lengths) < _MIN_WRAPPED_LINES:
        return None
    width = sorted(lengths)[int(0.9 * (len(lengths) - 1))]
    if width > _MAX_WRAP:
        return None
    run_on = [
        after.strip()
        for line, after in pairwise(lines)
        if after.strip() and len(line.rstrip()) >= _FULL_LINE * width
    ]
    small = sum(1 for after in run_on if after[0].islower())
    wrapped = len(run_on) >= _RUN_ON_SHARE * len(lengths) and small >= _SMALL_SHARE * len(run_on)
    return width if wrapped else None


def _runs_on(previous: str, line: str, width: int) -> bool:
    """In hard-wrapped text, `line` continues the paragraph `previous` (the line just above
    it) broke off: `previous` was filled to the width and is no heading, and `line` starts
    no block of its own (a list item, a quote) and is no rule."""
    return (
        len(previous) >= _FULL_LINE * width
        and not _MD_HEADING.match(previous)
        and not _BLOCK_START.match(line)
        and any(ch.isalnum() for ch in line)
    )


def clean(article: Article, catalog_title: str | None = None) -> CleanArticle:
    blocks: list[Span] = []
    dropped: list[Span] = []
    author: str | None = None
    author_span: Span | None = None
    pos = 0
    lines = article.text.split("\n")
    width = wrap_width(lines)
    previous = ""  # the content line just above, "" after a blank or dropped line
    fenced = False  # inside a Markdown code fence: each line stays a line of its own
    for raw_line in lines:
        line_start, pos = pos, pos + len(raw_line) + 1
        stripped = raw_line.strip()
        fence = stripped.startswith(("```", "~~~"))
        fenced ^= fence
        if not stripped:
            previous = ""
            continue
        start = line_start + raw_line.index(stripped[0])
        span = Span(start, start + len(stripped))
        flat = normalize(stripped)
        match = _AUTHOR.fullmatch(flat) or _BYLINE.fullmatch(flat)
        if any(p.fullmatch(flat) for p in _BOILERPLATE):
            dropped.append(span)
            previous = ""
            continue
        if match and author is None and len(match["name"].split()) <= 6:
            author = match["name"].strip()
            author_span = span
            dropped.append(span)
            previous = ""
            continue
        if width and previous and blocks and _runs_on(previous, stripped, width):
            blocks[-1] = Span(blocks[-1].start, span.end)  # one paragraph, over several lines
        else:
            blocks.append(span)
        previous = "" if fenced or fence else stripped
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
