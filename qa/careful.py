"""Careful mode: the fast answer first, then the verifier's check of it against the passage
it cites.

The check asks the verifier (qa/verify.py) for `p_no`, the probability that the answer is not
correct according to the passages it cites (the answer's short form is proposed with the
question: each item of a list alone, with the passages the list cites; for a conflict, its
leading figure with the passage that figure cites), and compares it with a cut fitted on data
(a list keeps the items at or below it, `Check.dropped` the others):
`qa/careful.json`, written by `qa fit --careful` (the file records its
sample, seed, the sample's ids checksum, the AUC, the model file and the date). Above the cut
the answerer's next-best candidates are checked in turn (as many as the cut file says, with a
cut of their own): the first one the verifier bears out is given instead ("replaced"), and
when none is, the answer becomes "The articles don't say", with the reason. When the cut file
says so, the model is also asked to read the passages itself (qa/prompts/read.txt) right
after the first check: the span it copies, found word for word in them and borne out by a
check of its own at or below `read_cut`, is given before anything else ("replaced", `read`).
Otherwise it is kept. When the check cannot run (a dead backend, a timeout, no
log-probabilities) the fast answer stays, with a notice: careful mode never loses an answer.

When the cut file's `withheld` is true, the check also decides the questions the fast
answerer's own gate abstained on: the answer it withheld (`Answer.unabstained`) is checked,
and given when the check passes it ("answered"). When it is false, a fast abstention stays as
it is, unchecked ("skipped"): the fit keeps the check of withheld answers only when it gains
beyond the sample's noise (see eval/baseline/careful-sample/report.md).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from index.errors import NewsQAError
from qa.answer import Answer, Check
from qa.citations import MARKER

if TYPE_CHECKING:
    from qa.answerers import Turn
    from qa.verify import Read, Verdict


class Checker(Protocol):
    """The verifier's seam (qa.verify.Verifier): how likely the passage does not bear out
    the proposed answer to the question."""

    where: str  # names the backend in messages

    def check(self, question: str, passage: str, answer: str) -> Verdict: ...

    def read(self, question: str, passage: str) -> Read: ...

    def condense(self, question: str, history: Sequence[Turn]) -> str | None: ...


log = logging.getLogger(__name__)

FORMAT = "newsqa-careful-cut/1"
ABSTAIN = "The articles don't say."
MAX_PASSAGES = 3  # cited passages shown to the verifier together
LEFT = (
    "The fast answer abstained, and careful mode leaves its abstentions as they are: on the "
    "fitting sample, checking the answers the fast answerer withheld did not gain beyond the "
    "sample's noise (qa/careful.json)."
)
REFIT = (
    "refit it with `qa fit --careful RESULTS --out qa/careful.json` on the rows of "
    "`python -m eval.careful_sample` (see eval/README.md)"
)


@dataclass(frozen=True)
class Cut:
    """The fitted decision: abstain when the verifier's p_no is above `p_no`, unless one of
    the next `alternatives` candidates scores at most `alternative_p_no`."""

    p_no: float
    answerer: str  # the answerer whose cited passages it was fitted on
    info: dict[str, Any]  # provenance: sample, seed, ids checksum, AUC, model, date
    alternatives: int = 0  # next-best candidates tried when the first is turned down
    alternative_p_no: float = 0.0  # the cut for them
    # When fitted on p_no and the fast answerer's gate probability c too: the cut is
    # confidence_cut + confidence_slope * c for an answer with c (`p_no` for one without).
    confidence_cut: float | None = None
    confidence_slope: float = 0.0
    # After the first check, whatever it found, the model reads the passage itself (before
    # any next-best candidate is tried): its span is given when the check of it scores at
    # most `read_cut`. Used only when the fit found it worth its calls.
    read: bool = False
    read_cut: float = 0.0
    # The candidate a fast abstention withheld is checked, and given when borne out; False: a
    # fast abstention stays as it is, unchecked (the fit's choice, see qa/careful_fit.py).
    withheld: bool = True

    def for_answer(self, answer: Answer) -> float:
        """The cut p_no is compared with for this candidate answer."""
        if self.confidence_cut is None or answer.confidence is None:
            return self.p_no
        return moving_cut(self.confidence_cut, self.confidence_slope, answer.confidence)

    def to_json(self) -> dict[str, Any]:
        moving = (
            {}
            if self.confidence_cut is None
            else {"confidence_cut": self.confidence_cut, "confidence_slope": self.confidence_slope}
        )
        return {
            "format": FORMAT,
            "cut": self.p_no,
            "answerer": self.answerer,
            "alternatives": self.alternatives,
            "alternative_cut": self.alternative_p_no,
            "read": self.read,
            "read_cut": self.read_cut,
            "withheld": self.withheld,
            **moving,
            **self.info,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cut:
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, not {FORMAT!r}")
        cut = float(data["cut"])
        alternatives = int(data.get("alternatives", 0))
        alternative_cut = float(data.get("alternative_cut", 0.0))
        read = bool(data.get("read", False))
        read_cut = float(data.get("read_cut", 0.0))
        withheld = bool(data.get("withheld", True))  # files from before: checked
        for name, value in (
            ("cut", cut),
            ("alternative_cut", alternative_cut),
            ("read_cut", read_cut),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} {value} is not a probability")
        if alternatives < 0:
            raise ValueError(f"alternatives {alternatives} is negative")
        moving = data.get("confidence_cut")
        confidence_cut = None if moving is None else float(moving)
        confidence_slope = float(data.get("confidence_slope", 0.0))
        fields = {"format", "cut", "answerer", "alternatives", "alternative_cut"}
        fields |= {"confidence_cut", "confidence_slope", "read", "read_cut", "withheld"}
        info = {k: v for k, v in data.items() if k not in fields}
        return cls(
            cut,
            str(data["answerer"]),
            info,
            alternatives,
            alternative_cut,
            confidence_cut,
            confidence_slope,
            read,
            read_cut,
            withheld,
        )


def moving_cut(cut: float, slope: float, confidence: float) -> float:
    """The cut on p_no for an answer whose gate probability is `confidence`, rounded as the
    cut file's are."""
    return round(min(1.0, max(0.0, cut + slope * confidence)), 4)


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


def cited_passages(answer: Answer) -> list[dict[str, Any]]:
    """The retrieved passages (from the trace) holding the answer's citations, in the order
    they are cited, each once, at most MAX_PASSAGES: a list's items or a conflict's figures
    come from several."""
    found: list[dict[str, Any]] = []
    for c in answer.citations:
        for p in answer.trace.passages:
            if p["article_id"] == c.article_id and p["start"] <= c.start < p["end"]:
                if p not in found:
                    found.append(p)
                break
    return found[:MAX_PASSAGES]


def cited_passage(answer: Answer) -> dict[str, Any] | None:
    """The retrieved passage holding the answer's first citation."""
    passages = cited_passages(answer)
    return passages[0] if passages else None


def short_answer(answer: Answer) -> str:
    """The answer the check proposes: the answerer's own short form ("A; B" for a list), or
    the reply's text before its first marker."""
    return answer.short or _lead(answer.text)


def _lead(text: str) -> str:
    return MARKER.split(text, maxsplit=1)[0].strip()


def shown_passages(target: Answer) -> list[dict[str, Any]]:
    """The passages the verifier is shown for a candidate answer: those it cites, or for a
    conflict the one its leading figure cites."""
    passages = cited_passages(target)
    return passages[:1] if target.conflict else passages


def check_inputs(answer: Answer, question: str | None = None) -> tuple[str, str, str] | None:
    """What the verifier is asked about a fast answer: (question, passages, proposed answer).
    The answer checked is the fast one, or when its gate abstained the one it withheld; None
    when there is none, or it cites no retrieved passage. `question`: a follow-up as the
    model rewrote it to stand alone (default: the standalone search query)."""
    target = answer.unabstained if answer.abstained else answer
    passages = shown_passages(target) if target is not None else []
    if target is None or not passages:
        return None
    # The standalone query: a follow-up ("what did he say?") reads as a whole question.
    question = question or answer.trace.query or answer.question
    text = "\n\n".join(str(p["text"]).strip() for p in passages)
    if target.conflict:
        # Sources that disagree cannot all be right together: the leading figure is
        # proposed, with the passage it cites.
        return question, text, _lead(target.text)
    return question, text, short_answer(target)


def locate(span: str, passages: list[dict[str, Any]]) -> tuple[dict[str, Any], int, int] | None:
    """Where the model's span is in the passages it was shown, as article offsets: its words
    in order, whatever the case and the spaces between them, not inside other words. None
    when it is in none of them (the model wrote words of its own)."""
    words = span.split()
    if not words:
        return None
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.I)
    for p in passages:
        m = pattern.search(str(p["text"]))
        if m is not None:
            return p, int(p["start"]) + m.start(), int(p["start"]) + m.end()
    return None


def items(span: str) -> list[str]:
    """The items of a span that lists several ("Arles, Nîmes and Uzès"); [] for
    one that does not."""
    parts = [p.strip() for p in re.split(r"\s*(?:[,;]|\band\b)\s*", span)]
    parts = [p for p in parts if p]
    return parts if len(parts) > 1 else []


def judge(p_no: float, cut: float) -> bool:
    """True when the passage is judged not to answer: p_no above the fitted cut."""
    return p_no > cut


def check_answer(
    answer: Answer, verifier: Callable[[], Checker], cut: Cut, history: Sequence[Turn] = ()
) -> Check:
    """Checks the passage `answer` cites, or when its gate abstained the passage of the answer
    it withheld; `verifier` is called only when there is one. A follow-up (one that leans on
    `history`) is first rewritten by the model to stand alone, and asked that way."""
    target = answer.unabstained if answer.abstained else answer
    if target is None:
        return Check("skipped", "The fast answer abstained with no candidate answer to check.")
    if answer.abstained and not cut.withheld:
        return Check("skipped", LEFT)
    if check_inputs(answer) is None:
        return Check("skipped", _unchecked(target))
    condensed = _condensed(answer.question, history, verifier)
    check = _check(answer, target, verifier, cut, condensed)
    if not condensed:
        return check
    said = f"{check.reason} The model was asked the follow-up as {condensed!r}."
    return dataclasses.replace(check, asked=condensed, reason=said)


def _unchecked(target: Answer) -> str:
    """Why an answer with no retrieved passage to check is left as it is."""
    if target.citations:
        # The extractive answerer's byline or outlet: a line of the article no passage holds.
        return (
            "The answer quotes a line of the article that no retrieved passage holds (such as "
            "its byline), so there is no passage to check it against; it stays as it is."
        )
    return "The fast answer cites no retrieved passage to check."


def _condensed(
    question: str, history: Sequence[Turn], verifier: Callable[[], Checker]
) -> str | None:
    """A follow-up as the model rewrites it to stand alone; None for a question that does
    not lean on the conversation, or when the model gives no usable rewrite."""
    from qa.followup import needs_history

    if not any(t["role"] == "user" for t in history) or not needs_history(question):
        return None
    try:
        return verifier().condense(question, history)
    except Exception as exc:  # the check itself reports a backend that cannot answer
        log.warning("careful mode could not rewrite the follow-up", exc_info=exc)
        return None


def _check(
    answer: Answer,
    target: Answer,
    verifier: Callable[[], Checker],
    cut: Cut,
    question: str | None,
) -> Check:
    asked = check_inputs(answer, question)
    if asked is None:
        return Check("skipped", "The fast answer cites no retrieved passage to check.")
    first = cited_passages(target)[0]
    at = cut.for_answer(target)
    where = {"article_id": first["article_id"], "start": first["start"], "end": first["end"]}
    parts = list_items(target, asked[2])
    try:
        verdicts = [verifier().check(asked[0], asked[1], part) for part in parts or [asked[2]]]
    except Exception as exc:  # any failure of the check keeps the fast answer, with a notice
        log.warning("careful mode's check failed; keeping the fast answer", exc_info=exc)
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        return Check(
            "fallback",
            f"The check could not run ({reason}); showing the fast answer unchecked.",
            cut=at,
            **where,
        )
    verdict = min(verdicts, key=lambda v: v.p_no)
    kept = [part for part, v in zip(parts, verdicts, strict=False) if not judge(v.p_no, at)]
    dropped = tuple(part for part in parts if part not in kept) if kept else ()
    facts = (
        f"the model's P(No) {verdict.p_no:.3f}, fitted cut {at:.3f}"
        if not parts
        else f"each of its {len(parts)} items checked alone: the model's P(No) from "
        f"{verdict.p_no:.3f} to {max(v.p_no for v in verdicts):.3f}, fitted cut {at:.3f}"
    )
    turned_down = judge(verdict.p_no, at)
    spent = sum(v.seconds for v in verdicts)
    read = _try_reading(target, asked, verifier, cut, spent, facts, turned_down)
    if read.outcome == "replaced":
        return dataclasses.replace(read, unchecked=answer.text)
    seconds = read.seconds
    if turned_down:
        replaced = _try_alternatives(target, verifier, cut, seconds, facts, question)
        if replaced.outcome == "replaced":
            return dataclasses.replace(replaced, unchecked=answer.text, read=read.read)
        said = (
            "The fast answer abstained, and the model judged that the passage its best "
            "candidate cites does not bear that candidate out either"
            if answer.abstained
            else "The model judged that the passage the answer cited does not bear it out"
        )
        tried = (
            f"; nor the next {replaced.tried} candidate{'s' if replaced.tried > 1 else ''} "
            f"(fitted cut {cut.alternative_p_no:.3f})"
            if replaced.tried
            else ""
        )
        own = (
            f"; nor what the model read from the passage itself ({read.read!r})"
            if read.read is not None
            else ""
        )
        return Check(
            "abstained",
            f"{said} ({facts}){own}{tried}.",
            verdict.p_no,
            at,
            replaced.seconds,
            unchecked=target.text,
            changed=not answer.abstained,
            tried=replaced.tried,
            read=read.read,
            **where,
        )
    found = verdict.p_no, at, seconds
    if dropped:
        said = (
            "The fast answer abstained, but the model judged that the passages its best "
            "candidate, a list, cites"
            if answer.abstained
            else "The model judged that the passages the list cites"
        )
        reason = (
            f"{said} bear out {len(kept)} of its {len(parts)} items ({facts}), so careful mode "
            f"gives those, without {', '.join(map(repr, dropped))}."
        )
    elif answer.abstained:
        reason = (
            "The fast answer abstained, but the model judged that the passage its best "
            f"candidate cites bears it out ({facts}), so careful mode gives that answer."
        )
    else:
        reason = f"The model judged that the passage the answer cites bears it out ({facts})."
    return Check(
        "answered" if answer.abstained else "kept",
        reason,
        *found,
        unchecked=answer.text if answer.abstained or dropped else None,
        changed=answer.abstained or bool(dropped),
        read=read.read,
        dropped=dropped,
        **where,
    )


def _try_reading(
    target: Answer,
    asked: tuple[str, str, str],
    verifier: Callable[[], Checker],
    cut: Cut,
    seconds: float,
    facts: str,
    turned_down: bool,
) -> Check:
    """When the cut says so, after the first check whatever it found (for a list or a
    conflict, only when it was turned down): the model reads the passages it was shown for a
    span of its own, which is checked like any candidate and given ("replaced") when it is
    found word for word in those passages, is neither what was proposed nor only the
    question's own words (`adds`), and its p_no is at most `cut.read_cut`. Otherwise a Check that
    only carries the seconds spent and what the model read."""
    question, passage, proposed = asked
    if not cut.read or (several(target, proposed) and not turned_down):
        # A list or a conflict the check kept stays whole: one span read would drop the rest.
        return Check("abstained", "", seconds=seconds)
    try:
        read = verifier().read(question, passage)
        seconds += read.seconds
        found = None if read.text is None else target.ground(read.text, shown_passages(target))
        if found is None or not adds(short_answer(found), proposed, (question, target.question)):
            return Check("abstained", "", seconds=seconds, read=read.text)
        verdict = verifier().check(question, passage, short_answer(found))
    except Exception as exc:
        log.warning("careful mode's reading of the passage failed", exc_info=exc)
        return Check("abstained", "", seconds=seconds)
    seconds += verdict.seconds
    if verdict.p_no > cut.read_cut:
        return Check("abstained", "", seconds=seconds, read=read.text)
    first = found.citations[0]
    judged = (
        f"The model judged that the passage the answer cites does not bear it out ({facts})"
        if turned_down
        else f"The model judged that the passage the answer cites bears it out ({facts})"
    )
    return Check(
        "replaced",
        f"{judged}; asked to read that passage itself, it found {short_answer(found)!r}, which "
        f"it judged borne out (P(No) {verdict.p_no:.3f}, fitted cut {cut.read_cut:.3f}), so "
        "careful mode gives that.",
        verdict.p_no,
        cut.read_cut,
        seconds,
        article_id=first.article_id,
        start=first.start,
        end=first.end,
        changed=True,
        read=read.text,
    )


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def adds(reading: str, proposed: str, questions: tuple[str, ...]) -> bool:
    """The model's span is an answer other than the proposed one: not the same words, nor
    only the question's own words ("Ilse Varga" for "Who is Ilse Varga?"), which are never
    its answer. A part of the proposed answer does count ("Ilse Varga" for "Deputy Minister
    Ilse Varga"), as in the fit of `read_cut`."""
    words = _words(reading)
    asked = {w for q in questions for w in _words(q)}
    return bool(words) and not set(words) <= asked and words != _words(proposed)


def list_items(target: Answer, proposed: str) -> list[str]:
    """A list's items ("A; B"), which the check proposes one at a time with the same
    passages, as the cut was fitted on single answers; [] for a single answer or a conflict
    (its leading figure is proposed)."""
    if target.conflict or "; " not in proposed:
        return []
    return [part for part in (p.strip() for p in proposed.split("; ")) if part]


def several(target: Answer, proposed: str) -> bool:
    """The reply gives several answers: a conflict's figures, or a list's items ("A; B")."""
    return target.conflict or bool(list_items(target, proposed))


def _try_alternatives(
    target: Answer,
    verifier: Callable[[], Checker],
    cut: Cut,
    seconds: float,
    facts: str,
    question: str | None = None,
) -> Check:
    """After the check turned `target` down: its next-best candidates, checked in turn (at
    most `cut.alternatives`); "replaced" with the first the verifier bears out, else a Check
    that only counts what was tried (a failure here keeps the turn-down)."""
    tried = 0
    for i, alt in enumerate(target.alternatives()[: cut.alternatives] if cut.alternatives else ()):
        asked = check_inputs(alt, question)
        if asked is None:
            continue
        try:
            verdict = verifier().check(*asked)
        except Exception as exc:
            log.warning("careful mode's check of a next-best candidate failed", exc_info=exc)
            break
        tried, seconds = tried + 1, seconds + verdict.seconds
        if verdict.p_no <= cut.alternative_p_no:
            first = cited_passages(alt)[0]
            return Check(
                "replaced",
                f"The model judged that the passage the best candidate cites does not bear it "
                f"out ({facts}), but that the passage of the answerer's "
                f"{_ordinal(i + 2)} candidate bears that one out (P(No) {verdict.p_no:.3f}, "
                f"fitted cut {cut.alternative_p_no:.3f}), so careful mode gives it.",
                verdict.p_no,
                cut.alternative_p_no,
                seconds,
                article_id=first["article_id"],
                start=first["start"],
                end=first["end"],
                changed=True,
                tried=tried,
                alternative=i,
            )
    return Check("abstained", "", seconds=seconds, tried=tried)


def _ordinal(n: int) -> str:
    return {2: "second", 3: "third"}.get(n, f"{n}th")


def apply_check(answer: Answer, check: Check) -> Answer:
    """The final answer: the fast one with the check attached, the answer its gate withheld,
    or an abstention; a list without the items the check dropped."""
    target = answer.unabstained if answer.abstained else answer
    if check.dropped and check.outcome in ("kept", "answered") and target is not None:
        kept = [p for p in list_items(target, short_answer(target)) if p not in check.dropped]
        found = target.ground("; ".join(kept), shown_passages(target))
        if found is not None:
            return dataclasses.replace(found, check=check)
    if check.outcome == "answered" and answer.unabstained is not None:
        return dataclasses.replace(answer.unabstained, check=check)
    if check.outcome == "replaced" and target is not None and check.alternative is not None:
        return dataclasses.replace(target.alternatives()[check.alternative], check=check)
    if check.outcome == "replaced" and target is not None and check.read is not None:
        # alternative None: the span the model read is what is given
        found = target.ground(check.read, shown_passages(target))
        if found is not None:
            return dataclasses.replace(found, check=check)
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
