"""The answer type every front end consumes: text with [n] markers plus its evidence."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from qa.retrieve import Hit


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    quote: str  # == article text[start:end]
    start: int
    end: int
    score: float
    page: int | None = None  # the PDF page holding `start`; None for other articles

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Evidence:
    """A span an answerer may cite: marker [n] in a draft refers to evidence[n-1]."""

    article_id: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Draft:
    """What an answerer returns before markers are validated and renumbered."""

    text: str
    abstained: bool
    evidence: tuple[Evidence, ...]
    conflict: bool = False
    notice: str | None = None
    withheld: bool = False  # a generative reply no passage supported, replaced by ABSTAIN


@dataclass(frozen=True)
class Retrieved:
    """Stream event sent before any text: the standalone query and the passages found."""

    query: str
    hits: tuple[Hit, ...]


@dataclass
class Trace:
    query: str  # the standalone query used for retrieval
    passages: list[dict[str, Any]]  # what the answerer read, best first
    timings_ms: dict[str, float] = field(default_factory=dict)
    k: int = 0  # passages asked for; the answerer may read a wider pool


@dataclass
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation]
    answerer: str
    timings_ms: dict[str, float]
    trace: Trace
    conflict: bool = False
    notice: str | None = None  # e.g. "the llamacpp backend failed; extractive answer shown"
    uncited: bool = False  # a generative answer left with no valid citation
    withheld: bool = False  # a generative reply no passage supported; `text` abstains instead

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "conflict": self.conflict,
            "citations": [c.to_dict() for c in self.citations],
            "answerer": self.answerer,
            "notice": self.notice,
            "uncited": self.uncited,
            "withheld": self.withheld,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "trace": {
                "query": self.trace.query,
                "k": self.trace.k,
                "passages": self.trace.passages,
                "timings_ms": {k: round(v, 2) for k, v in self.trace.timings_ms.items()},
            },
        }
