"""Validate an answerer's [n] markers and renumber citations in order of first use."""

from __future__ import annotations

import re

from index.extract import page_of
from index.store import IndexSnapshot
from qa.answer import Citation, Draft

MARKER = re.compile(r"\[(\d{1,3})\]")


def finalize(draft: Draft, snap: IndexSnapshot) -> tuple[str, list[Citation], bool]:
    """Returns (text with renumbered markers, citations, True if nothing valid is cited)."""
    order: dict[int, int] = {}
    citations: list[Citation] = []

    def renumber(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if not 1 <= n <= len(draft.evidence):
            return ""  # a marker pointing at no passage is dropped
        ev = draft.evidence[n - 1]
        art = snap.articles.get(ev.article_id)
        if art is None or not 0 <= ev.start < ev.end <= len(art["text"]):
            return ""
        if n not in order:
            order[n] = len(order) + 1
            citations.append(
                Citation(
                    n=order[n],
                    article_id=ev.article_id,
                    title=str(art["title"]),
                    quote=str(art["text"][ev.start : ev.end]),
                    start=ev.start,
                    end=ev.end,
                    score=round(ev.score, 4),
                    page=page_of(art, ev.start),
                )
            )
        return f"[{order[n]}]"

    text = MARKER.sub(renumber, draft.text)
    text = re.sub(r"(\[\d+\])(?:\1)+", r"\1", text)  # "[1][1]" -> "[1]"
    text = re.sub(r"[ \t]+([.,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
    return text, citations, not citations
