"""The answer type every front end consumes: text with [n] markers plus its evidence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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
    # When the answerer's own fitted gate abstained: the answer it would have given. Careful
    # mode checks this one, so the verifier, not only the gate, decides.
    unabstained: Draft | None = None
    # The answer itself, without markers or quotes ("A; B" for a list), when the answerer
    # knows it; otherwise it is the reply's text before its first marker.
    short: str | None = None
    # Replies the answerer's next-best candidates would give, best first: careful mode
    # checks them in turn when the verifier rejects this one. Made on the first call (only
    # careful mode's fallback asks), so the fast answer does not pay for them.
    alternatives: Callable[[], tuple[Draft, ...]] = lambda: ()
    # The answerer's fitted probability that its best candidate answers the question (the
    # extractive gate's; it abstains below its threshold); None when it has no such model.
    confidence: float | None = None


@dataclass(frozen=True)
class Retrieved:
    """Stream event sent before any text: the standalone query and the passages found."""

    query: str
    hits: tuple[Hit, ...]


CheckOutcome = Literal["kept", "answered", "replaced", "abstained", "fallback", "skipped"]


@dataclass(frozen=True)
class Check:
    """What careful mode's check of the cited passage found (see qa/careful.py).

    kept: the model judged that the cited passage bears the answer out; answered: the fast
    answer abstained, and the model judged that the answer its gate withheld is borne out, so
    that answer is given; replaced: it judged that the answer is not borne out, but that one of
    the answerer's next-best candidates is (`p_no` at most the fitted cut for those), so that
    candidate is given, or that the span the model read from the passage itself is (`read`);
    a list's items are checked one by one, and those not borne out are `dropped`;
    abstained: it judged that the answer is not borne out (`p_no` above
    the fitted `cut`), nor any next-best candidate it tried, so the answer is "The articles
    don't say";
    fallback: the check could not run (the fast answer is shown, with a notice); skipped: there
    was nothing to check (no candidate answer, or no retrieved passage it cites).
    """

    outcome: CheckOutcome
    reason: str  # one sentence for people: what the check found, or why it did not run
    p_no: float | None = None  # the verifier's probability that the passage does not answer
    cut: float | None = None  # the fitted cut it was compared with
    seconds: float = 0.0
    article_id: str | None = None  # the passage checked
    start: int | None = None
    end: int | None = None
    unchecked: str | None = None  # the answer the check replaced (its text)
    changed: bool = False  # the final answer differs from the fast one
    tried: int = 0  # next-best candidates checked after the first was turned down
    alternative: int | None = None  # "replaced": which of them is given (0: the second best)
    # The span the model read from the passage itself after the turn-down, as it wrote it;
    # None when it was not asked or replied "unanswerable". "replaced" with `alternative`
    # None: that span is what is given.
    read: str | None = None
    # A follow-up as the model rewrote it to stand alone, and was asked about; None when the
    # question was asked as it stands (with the names of the conversation's last exchange).
    asked: str | None = None
    # A list's items the model judged not borne out, each checked alone: "kept" or
    # "answered" with items dropped gives the list of the others.
    dropped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dropped"] = list(self.dropped)
        data["seconds"] = round(self.seconds, 3)
        if self.p_no is not None:
            data["p_no"] = round(self.p_no, 4)
        return data


@dataclass(frozen=True)
class Checking:
    """Stream event in careful mode: the fast answer is complete; its check runs now."""

    answer: Answer


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
    check: Check | None = None  # careful mode's check; None when it was not asked for
    unabstained: Answer | None = None  # see Draft.unabstained; not part of to_dict()
    short: str | None = None  # see Draft.short; not part of to_dict()
    # see Draft.alternatives; not part of to_dict()
    alternatives: Callable[[], tuple[Answer, ...]] = lambda: ()
    confidence: float | None = None  # see Draft.confidence
    # The reply that leads with a span a model read from some of this answer's passages
    # (careful mode's reading), cited to the sentence holding it; None when the span is not
    # in them word for word. Not part of to_dict().
    ground: Callable[[str, list[dict[str, Any]]], Answer | None] = lambda span, passages: None

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
            "confidence": self.confidence,
            "check": self.check.to_dict() if self.check else None,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "trace": {
                "query": self.trace.query,
                "k": self.trace.k,
                "passages": self.trace.passages,
                "timings_ms": {k: round(v, 2) for k, v in self.trace.timings_ms.items()},
            },
        }
