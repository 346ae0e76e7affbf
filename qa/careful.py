"""Careful mode: the fast answer first, then the verifier's check of the passage it cites.

The check asks the verifier (qa/verify.py) for `p_no`, the probability that the cited passage
does not answer the question, and compares it with a cut fitted on data: `qa/careful.json`,
written by `python -m eval.careful_sample --cut` (the file records its sample, seed, the
sample's ids checksum, the AUC, the model file and the date). Above the cut the answer becomes
"The articles don't say", with the reason; otherwise it is kept. When the check cannot run (a
dead backend, a timeout, no log-probabilities) the fast answer stays, with a notice: careful
mode never loses an answer.

The check decides for every question with a candidate answer, not only for those the fast
answerer's own gate let through: when the gate abstained, the answer it withheld
(`Answer.unabstained`) is checked, and given when its passage passes ("answered"). On the
fitting sample that scored better than checking only the answers the gate let through (see
eval/baseline/careful-sample/report.md).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from index.errors import NewsQAError
from qa.answer import Answer, Check

if TYPE_CHECKING:
    from qa.verify import Verdict


class Checker(Protocol):
    """The verifier's seam (qa.verify.Verifier): how likely a passage does not answer."""

    where: str  # names the backend in messages

    def check(self, question: str, passage: str) -> Verdict: ...


log = logging.getLogger(__name__)

FORMAT = "newsqa-careful-cut/1"
ABSTAIN = "The articles don't say."
REFIT = (
    "refit it with `python -m eval.careful_sample --gold ... --corpus ... --cut qa/careful.json` "
    "(see eval/README.md)"
)


@dataclass(frozen=True)
class Cut:
    """The fitted decision: abstain when the verifier's p_no is above `p_no`."""

    p_no: float
    answerer: str  # the answerer whose cited passages it was fitted on
    info: dict[str, Any]  # provenance: sample, seed, ids checksum, AUC, model, date

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "cut": self.p_no, "answerer": self.answerer, **self.info}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cut:
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, not {FORMAT!r}")
        cut = float(data["cut"])
        if not 0.0 <= cut <= 1.0:
            raise ValueError(f"cut {cut} is not a probability")
        info = {k: v for k, v in data.items() if k not in {"format", "cut", "answerer"}}
        return cls(cut, str(data["answerer"]), info)


def load_cut(path: Path | None) -> Cut:
    """The cut file at `path`, or the packaged qa/careful.json."""
    try:
        if path is None:
            text = resources.files("qa").joinpath("careful.json").read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return Cut.from_json(json.loads(text))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        where = path or "the packaged qa/careful.json"
        raise NewsQAError(f"Cannot read careful mode's cut file {where} ({exc}); {REFIT}.") from exc


def cited_passage(answer: Answer) -> dict[str, Any] | None:
    """The retrieved passage (from the trace) holding the answer's first citation."""
    if not answer.citations:
        return None
    c = answer.citations[0]
    for p in answer.trace.passages:
        if p["article_id"] == c.article_id and p["start"] <= c.start < p["end"]:
            return p
    return None


def judge(p_no: float, cut: float) -> bool:
    """True when the passage is judged not to answer: p_no above the fitted cut."""
    return p_no > cut


def check_answer(answer: Answer, verifier: Callable[[], Checker], cut: Cut) -> Check:
    """Checks the passage `answer` cites, or when its gate abstained the passage of the answer
    it withheld; `verifier` is called only when there is one."""
    target = answer.unabstained if answer.abstained else answer
    if target is None:
        return Check("skipped", "The fast answer abstained with no candidate answer to check.")
    passage = cited_passage(target)
    if passage is None:
        return Check("skipped", "The fast answer cites no retrieved passage to check.")
    where = {"article_id": passage["article_id"], "start": passage["start"], "end": passage["end"]}
    try:
        # The standalone query: a follow-up ("what did he say?") reads as a whole question.
        verdict = verifier().check(answer.trace.query or answer.question, str(passage["text"]))
    except Exception as exc:  # any failure of the check keeps the fast answer, with a notice
        log.warning("careful mode's check failed; keeping the fast answer", exc_info=exc)
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        return Check(
            "fallback",
            f"The check could not run ({reason}); showing the fast answer unchecked.",
            cut=cut.p_no,
            **where,
        )
    facts = f"the model's P(No) {verdict.p_no:.3f}, fitted cut {cut.p_no:.3f}"
    found = verdict.p_no, cut.p_no, verdict.seconds
    if judge(verdict.p_no, cut.p_no):
        said = (
            "The fast answer abstained, and the model judged that the passage of its best "
            "candidate does not answer the question either"
            if answer.abstained
            else "The model judged that the passage the answer cited does not answer the question"
        )
        return Check(
            "abstained",
            f"{said} ({facts}).",
            *found,
            unchecked=target.text,
            changed=not answer.abstained,
            **where,
        )
    if answer.abstained:
        return Check(
            "answered",
            "The fast answer abstained, but the model judged that the passage of its best "
            f"candidate answers the question ({facts}), so careful mode gives that answer.",
            *found,
            unchecked=answer.text,
            changed=True,
            **where,
        )
    return Check(
        "kept",
        f"The model judged that the passage the answer cites answers the question ({facts}).",
        *found,
        **where,
    )


def apply_check(answer: Answer, check: Check) -> Answer:
    """The final answer: the fast one with the check attached, the answer its gate withheld,
    or an abstention."""
    if check.outcome == "answered" and answer.unabstained is not None:
        return dataclasses.replace(answer.unabstained, check=check)
    if check.outcome == "abstained":
        return dataclasses.replace(
            answer,
            text=ABSTAIN,
            abstained=True,
            citations=[],
            conflict=False,
            check=check,
            unabstained=None,
        )
    if check.outcome == "fallback":
        notice = f"{answer.notice} {check.reason}" if answer.notice else check.reason
        return dataclasses.replace(answer, notice=notice, check=check)
    return dataclasses.replace(answer, check=check)
