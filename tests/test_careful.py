"""Careful mode: the fast answer, then the verifier's check of the passage it cites.

The decisions (kept, answered, abstained with the reason, fallback, skipped) are tested with a
deterministic fake at the project's own seam, the verifier's
`check(question, passage, answer)`;
the wiring with the real SmolLM2 model (a probability is read and the fitted cut applied to
it) and with a real closed port (the fallback).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index.errors import BackendError, NewsQAError
from index.settings import Settings
from qa.answer import Answer, Check, Checking, Citation, Retrieved, Trace
from qa.careful import (
    ABSTAIN,
    Cut,
    apply_check,
    check_answer,
    cited_passage,
    items,
    load_cut,
    locate,
)
from qa.verify import Read, Verdict
from tests.conftest import free_port
from tests.test_answerers import Silent
from tests.test_verify import LOCAL, SMOLLM2, Stub

# A seed question the extractive answerer answers, and one its gate abstains on (the
# candidate it withholds, a single span, is what careful mode checks).
QUESTION = "Which U.S. defense secretary confirmed that North Korea had sent troops to Russia?"
WITHHELD = "What did Maria Zakharova say about food aid?"
PASSAGE = "U.S. Defense Secretary Lloyd Austin confirmed that North Korea has dispatched troops."
CUT = Cut(0.3, "extractive", {})


class FakeVerifier:
    """The verifier's seam: a fixed p_no (or a failure); records every question asked."""

    where = "a fake verifier"

    def __init__(
        self, p_no: float = 0.1, error: Exception | None = None, reading: str | None = None
    ) -> None:
        self.p_no = p_no
        self.error = error
        self.asked: list[tuple[str, str, str]] = []
        self.reading = reading  # the span the model reads, None: "unanswerable"
        self.reads: list[tuple[str, str]] = []
        self.condensed: str | Exception | None = None  # the follow-up rewritten to stand alone
        self.condensing: list[str] = []

    def condense(self, question: str, history: Any) -> str | None:
        self.condensing = [*self.condensing, question]
        if isinstance(self.condensed, Exception):
            raise self.condensed
        return self.condensed

    def read(self, question: str, passage: str) -> Read:
        self.reads.append((question, passage))
        if isinstance(self.reading, Exception):
            raise self.reading
        return Read(self.reading, 0.5)

    def check(self, question: str, passage: str, answer: str) -> Verdict:
        self.asked.append((question, passage, answer))
        if self.error is not None:
            raise self.error
        return Verdict(self.p_no, 0.99, 0.25)


def fast_answer(abstained: bool = False, cite_start: int = 0) -> Answer:
    """A finished fast answer citing the first passage of its trace (unless abstained)."""
    passage = {"article_id": "a.txt", "start": 0, "end": len(PASSAGE), "text": PASSAGE}
    citations = [] if abstained else [Citation(1, "a.txt", "A", PASSAGE, cite_start, 20, 0.8)]
    return Answer(
        question=QUESTION,
        text=ABSTAIN if abstained else "Lloyd Austin [1].",
        abstained=abstained,
        citations=citations,
        answerer="extractive",
        timings_ms={},
        trace=Trace(query=QUESTION, passages=[passage], k=5),
    )


def withheld_answer() -> Answer:
    """A fast answer whose gate abstained, with the answer it withheld."""
    fast = fast_answer(abstained=True)
    fast.unabstained = fast_answer()
    return fast


# -- the decisions, at the verifier's seam ---------------------------------------------------


@pytest.mark.parametrize("p_no", [0.0, 0.1, CUT.p_no])
def test_at_or_below_the_cut_the_answer_is_kept(p_no: float) -> None:
    fake = FakeVerifier(p_no)
    fast = fast_answer()
    check = check_answer(fast, lambda: fake, CUT)
    final = apply_check(fast, check)
    # The passage the answer cites, and its short answer (the text before its marker).
    assert fake.asked == [(QUESTION, PASSAGE, "Lloyd Austin")]
    assert check.outcome == "kept" and check.p_no == p_no and check.cut == CUT.p_no
    assert (check.article_id, check.start, check.end) == ("a.txt", 0, len(PASSAGE))
    assert "bears it out" in check.reason
    assert final.text == fast.text and final.citations == fast.citations
    assert not final.abstained and final.notice is None and final.check is check


@pytest.mark.parametrize("p_no", [0.3001, 0.9, 1.0])
def test_above_the_cut_the_answer_becomes_an_abstention_with_the_reason(p_no: float) -> None:
    fast = fast_answer()
    check = check_answer(fast, lambda: FakeVerifier(p_no), CUT)
    final = apply_check(fast, check)
    assert check.outcome == "abstained"
    assert "does not bear it out" in check.reason
    assert f"{p_no:.3f}" in check.reason and f"{CUT.p_no:.3f}" in check.reason
    assert final.text == ABSTAIN and final.abstained and final.citations == []
    assert check.unchecked == fast.text  # what was replaced stays visible
    data = final.to_dict()
    assert data["check"]["outcome"] == "abstained" and data["check"]["p_no"] == round(p_no, 4)


@pytest.mark.parametrize(
    "error",
    [BackendError("the verifier's backend timed out after 30 s"), RuntimeError("boom")],
    ids=["backend-error", "anything"],
)
def test_a_failed_check_keeps_the_fast_answer_with_a_notice(error: Exception) -> None:
    fast = fast_answer()
    final = apply_check(fast, check_answer(fast, lambda: FakeVerifier(error=error), CUT))
    assert final.text == fast.text and final.citations == fast.citations
    assert final.check is not None and final.check.outcome == "fallback"
    assert final.notice is not None and str(error) in final.notice
    assert "showing the fast answer unchecked" in final.notice
    assert final.to_dict()["notice"] == final.notice


def test_a_verifier_that_cannot_load_is_a_fallback_too() -> None:
    def dead() -> FakeVerifier:
        raise BackendError("no GGUF model is configured")

    final = apply_check(fast_answer(), check_answer(fast_answer(), dead, CUT))
    assert final.check is not None and final.check.outcome == "fallback"
    assert final.notice is not None and "no GGUF model is configured" in final.notice


@pytest.mark.parametrize("p_no", [0.0, CUT.p_no])
def test_a_withheld_answer_whose_passage_answers_is_given(p_no: float) -> None:
    fake = FakeVerifier(p_no)
    fast = withheld_answer()
    check = check_answer(fast, lambda: fake, CUT)
    final = apply_check(fast, check)
    assert fake.asked == [(QUESTION, PASSAGE, "Lloyd Austin")]  # the withheld answer
    assert check.outcome == "answered" and check.changed and check.unchecked == ABSTAIN
    assert "fast answer abstained" in check.reason and "bears it out" in check.reason
    assert fast.unabstained is not None
    assert final.text == fast.unabstained.text and final.citations == fast.unabstained.citations
    assert not final.abstained and final.check is check
    assert final.to_dict()["check"]["outcome"] == "answered"


def test_a_withheld_answer_whose_passage_does_not_answer_stays_an_abstention() -> None:
    fast = withheld_answer()
    check = check_answer(fast, lambda: FakeVerifier(0.9), CUT)
    final = apply_check(fast, check)
    assert check.outcome == "abstained" and not check.changed
    assert fast.unabstained is not None and check.unchecked == fast.unabstained.text
    assert "does not bear that candidate out either" in check.reason
    assert final.abstained and final.text == ABSTAIN and final.citations == []


def test_a_kept_answer_is_unchanged_and_an_overruled_one_changed() -> None:
    kept = check_answer(fast_answer(), lambda: FakeVerifier(0.0), CUT)
    overruled = check_answer(fast_answer(), lambda: FakeVerifier(0.9), CUT)
    assert (kept.outcome, kept.changed) == ("kept", False)
    assert (overruled.outcome, overruled.changed) == ("abstained", True)


@pytest.mark.parametrize(
    "fast",
    [fast_answer(abstained=True), fast_answer(cite_start=len(PASSAGE) + 5)],
    ids=["abstained-with-no-candidate", "cites-no-retrieved-passage"],
)
def test_nothing_to_check_is_skipped_without_asking(fast: Answer) -> None:
    fake = FakeVerifier(1.0)
    check = check_answer(fast, lambda: fake, CUT)
    assert check.outcome == "skipped" and fake.asked == []
    assert apply_check(fast, check).text == fast.text
    # A line of the article outside every passage (a byline) is said to be one.
    assert ("no retrieved passage holds" in check.reason) == bool(fast.citations)


def test_the_checked_passage_is_the_one_holding_the_first_citation() -> None:
    fast = fast_answer()
    other = {"article_id": "b.txt", "start": 0, "end": 90, "text": "Another passage."}
    fast.trace.passages.insert(0, other)
    assert cited_passage(fast) == fast.trace.passages[1]


def test_a_list_is_checked_against_every_passage_it_cites_once_each_in_order() -> None:
    fast = fast_answer()
    second = {"article_id": "b.txt", "start": 0, "end": 90, "text": "  Ann Lee also spoke.  "}
    unused = {"article_id": "c.txt", "start": 0, "end": 90, "text": "Nothing cited here."}
    fast.trace.passages[:0] = [unused, second]
    fast.text = "Lloyd Austin [1]; Ann Lee [2]; Lloyd Austin [1]."
    fast.citations += [Citation(2, "b.txt", "B", "Ann Lee", 2, 9, 0.7), fast.citations[0]]
    fake = FakeVerifier(0.0)
    assert check_answer(fast, lambda: fake, CUT).outcome == "kept"
    fast.short = "Lloyd Austin; Ann Lee"  # the answerer's own short form, when it gives one
    assert check_answer(fast, lambda: fake, CUT).outcome == "kept"
    # Without its short form, the text before the first marker; with it, each item alone,
    # all with the same passages.
    assert [a[2] for a in fake.asked] == ["Lloyd Austin", "Lloyd Austin", "Ann Lee"]
    assert {a[1] for a in fake.asked} == {f"{PASSAGE}\n\nAnn Lee also spoke."}


def test_a_conflict_is_checked_on_its_leading_figure_and_that_figure_s_passage() -> None:
    fast = fast_answer()
    second = {"article_id": "b.txt", "start": 0, "end": 90, "text": "Others said 2,000 came."}
    fast.trace.passages.append(second)
    fast.text = "1,500 [1] (A); 2,000 [2] (B): the sources give different figures."
    fast.citations.append(Citation(2, "b.txt", "B", "2,000", 12, 17, 0.7))
    fast.conflict, fast.short = True, "1,500; 2,000"
    fake = FakeVerifier(0.0)
    assert check_answer(fast, lambda: fake, CUT).outcome == "kept"
    assert fake.asked == [(QUESTION, PASSAGE, "1,500")]


# -- the next-best candidates ------------------------------------------------------------

SECOND = "Defense Secretary Pete Hegseth said the troops had reached the front."
THIRD = "The Pentagon said about 10,000 soldiers were sent."


class Scripted(FakeVerifier):
    """A verifier whose p_no is looked up by the proposed answer (default: 1.0)."""

    def __init__(
        self, p_no: dict[str, float], error_on: str | None = None, reading: Any = None
    ) -> None:
        super().__init__(reading=reading)
        self.by_answer = p_no
        self.error_on = error_on

    def check(self, question: str, passage: str, answer: str) -> Verdict:
        self.asked.append((question, passage, answer))
        if answer == self.error_on:
            raise BackendError("the verifier's backend timed out after 30 s")
        return Verdict(self.by_answer.get(answer, 1.0), 0.99, 0.25)


def candidate(short: str, passage: str, start: int) -> Answer:
    """A single-span reply citing `passage`, which sits at `start` of article b.txt."""
    hit = {"article_id": "b.txt", "start": start, "end": start + len(passage), "text": passage}
    return Answer(
        question=QUESTION,
        text=f"{short} [1].",
        abstained=False,
        citations=[Citation(1, "b.txt", "B", passage, start, start + 10, 0.5)],
        answerer="extractive",
        timings_ms={},
        trace=Trace(query=QUESTION, passages=[hit], k=5),
    )


def with_alternatives(fast: Answer) -> Answer:
    alternatives = (candidate("Pete Hegseth", SECOND, 100), candidate("10,000", THIRD, 300))
    if fast.unabstained is not None:
        return dataclasses.replace(
            fast,
            unabstained=dataclasses.replace(fast.unabstained, alternatives=lambda: alternatives),
        )
    return dataclasses.replace(fast, alternatives=lambda: alternatives)


TRYING = Cut(0.3, "extractive", {}, alternatives=2, alternative_p_no=0.1)


@pytest.mark.parametrize("withheld", [False, True], ids=["answered", "withheld"])
def test_a_turned_down_answer_gives_the_next_candidate_the_model_bears_out(
    withheld: bool,
) -> None:
    fast = with_alternatives(withheld_answer() if withheld else fast_answer())
    fake = Scripted({"Lloyd Austin": 0.9, "Pete Hegseth": 0.8, "10,000": 0.05})
    check = check_answer(fast, lambda: fake, TRYING)
    final = apply_check(fast, check)
    # The best candidate first, then each next-best one with its own passage, in order.
    assert fake.asked == [
        (QUESTION, PASSAGE, "Lloyd Austin"),
        (QUESTION, SECOND, "Pete Hegseth"),
        (QUESTION, THIRD, "10,000"),
    ]
    assert check.outcome == "replaced" and check.changed
    assert (check.tried, check.alternative) == (2, 1)
    assert (check.p_no, check.cut) == (0.05, TRYING.alternative_p_no)
    assert check.seconds == pytest.approx(0.75)  # every check it sent
    assert (check.article_id, check.start, check.end) == ("b.txt", 300, 300 + len(THIRD))
    assert "third candidate" in check.reason and "0.900" in check.reason
    assert check.unchecked == fast.text  # what the fast answer showed
    assert final.text == "10,000 [1]." and not final.abstained and final.check is check
    assert [c.article_id for c in final.citations] == ["b.txt"]
    assert final.to_dict()["check"]["outcome"] == "replaced"


def test_when_no_candidate_is_borne_out_the_answer_abstains_saying_how_many_were_tried() -> None:
    fast = with_alternatives(fast_answer())
    fake = Scripted({"Lloyd Austin": 0.9, "Pete Hegseth": 0.2, "10,000": 0.5})
    check = check_answer(fast, lambda: fake, TRYING)
    final = apply_check(fast, check)
    assert len(fake.asked) == 3
    assert check.outcome == "abstained" and check.tried == 2 and check.alternative is None
    assert check.p_no == 0.9 and check.cut == TRYING.p_no  # the first candidate's verdict
    assert check.seconds == pytest.approx(0.75)
    assert "nor the next 2 candidates" in check.reason
    assert final.abstained and final.text == ABSTAIN and final.citations == []


def test_a_kept_answer_and_a_cut_without_alternatives_send_one_check() -> None:
    kept = Scripted({"Lloyd Austin": 0.1})
    assert check_answer(with_alternatives(fast_answer()), lambda: kept, TRYING).outcome == "kept"
    plain = Scripted({"Lloyd Austin": 0.9, "Pete Hegseth": 0.0})
    check = check_answer(with_alternatives(fast_answer()), lambda: plain, CUT)
    assert check.outcome == "abstained" and check.tried == 0
    assert len(kept.asked) == len(plain.asked) == 1
    assert "nor the next" not in check.reason

    # The next-best replies are made only when they are checked: not for a kept answer, nor
    # for a cut that tries none.
    made = []

    def alternatives() -> tuple[Answer, ...]:
        made.append(1)
        return ()

    lazy = dataclasses.replace(fast_answer(), alternatives=alternatives)
    check_answer(lazy, lambda: Scripted({"Lloyd Austin": 0.1}), TRYING)
    check_answer(lazy, lambda: Scripted({}), CUT)
    assert made == []
    check_answer(lazy, lambda: Scripted({}), TRYING)
    assert made == [1]


def test_a_failed_check_of_a_next_candidate_keeps_the_abstention() -> None:
    fast = with_alternatives(fast_answer())
    fake = Scripted({"Lloyd Austin": 0.9, "10,000": 0.0}, error_on="Pete Hegseth")
    check = check_answer(fast, lambda: fake, TRYING)
    # The failure stops the search: the first verdict stands, with no notice.
    assert check.outcome == "abstained" and check.tried == 0 and len(fake.asked) == 2
    final = apply_check(fast, check)
    assert final.abstained and final.notice is None


READING = dataclasses.replace(TRYING, read=True, read_cut=0.2)


def grounded(fast: Answer) -> Answer:
    """`fast` (with next-best candidates) whose passages can ground a span the model reads:
    a reply leading with the span as the passage spells it (what Assistant does, without an
    index)."""

    def ground(span: str, passages: list[dict[str, Any]]) -> Answer | None:
        found = locate(span, passages)
        if found is None:
            return None
        passage, start, end = found
        return candidate(PASSAGE[start:end], passage["text"], 0)

    fast = with_alternatives(fast)
    if fast.unabstained is not None:
        return dataclasses.replace(
            fast, unabstained=dataclasses.replace(fast.unabstained, ground=ground)
        )
    return dataclasses.replace(fast, ground=ground)


@pytest.mark.parametrize("withheld", [False, True], ids=["answered", "withheld"])
def test_a_turned_down_answer_gives_the_span_the_model_reads_when_its_check_bears_it_out(
    withheld: bool,
) -> None:
    fast = grounded(withheld_answer() if withheld else fast_answer())
    fake = Scripted({"Lloyd Austin": 0.9, "dispatched troops": 0.1}, reading="DISPATCHED  troops")
    check = check_answer(fast, lambda: fake, READING)
    final = apply_check(fast, check)
    # The model read the passage it was shown for the first check; its span, as the passage
    # spells it, was checked like a candidate, and no next-best candidate was tried.
    assert fake.reads == [(QUESTION, PASSAGE)]
    assert [a[2] for a in fake.asked] == ["Lloyd Austin", "dispatched troops"]
    assert {a[:2] for a in fake.asked} == {(QUESTION, PASSAGE)}
    assert check.outcome == "replaced" and check.changed and check.tried == 0
    assert check.read == "DISPATCHED  troops" and check.alternative is None
    assert (check.p_no, check.cut) == (0.1, READING.read_cut)
    assert check.seconds == pytest.approx(1.0)  # two checks and the reading
    assert "'dispatched troops'" in check.reason and "0.900" in check.reason
    assert final.text == "dispatched troops [1]." and not final.abstained
    assert final.check is check and check.unchecked == fast.text
    assert final.to_dict()["check"]["read"] == "DISPATCHED  troops"


@pytest.mark.parametrize(
    ("reading", "checks"),
    [
        ("dispatched troops", 2),  # read and checked, but turned down too
        (None, 1),  # the model replied "unanswerable"
        ("troops dispatched", 1),  # not in the passage word for word: not checked
        (BackendError("the verifier's backend timed out after 30 s"), 1),
    ],
    ids=["turned-down", "unanswerable", "not-in-passage", "failed"],
)
def test_a_reading_not_borne_out_leaves_the_next_candidates_to_decide(
    reading: Any, checks: int
) -> None:
    fast = grounded(fast_answer())
    fake = Scripted({"Lloyd Austin": 0.9, "dispatched troops": 0.5, "10,000": 0.05}, None, reading)
    check = check_answer(fast, lambda: fake, READING)
    assert len(fake.reads) == 1
    assert [a[2] for a in fake.asked[checks:]] == ["Pete Hegseth", "10,000"]
    assert check.outcome == "replaced" and check.alternative == 1
    # What the model read is recorded, but the next-best candidate is given.
    assert check.read == (reading if isinstance(reading, str) else None)
    assert apply_check(fast, check).text == "10,000 [1]."
    # With no next-best candidate borne out either, the reason says what the model read.
    fake.by_answer["10,000"] = 0.5
    check = check_answer(fast, lambda: fake, READING)
    assert check.outcome == "abstained" and apply_check(fast, check).abstained
    assert (repr(reading) in check.reason) == isinstance(reading, str)


@pytest.mark.parametrize(
    ("reading", "p_no", "given"),
    [
        ("dispatched troops", 0.05, True),  # borne out more surely than the cut for readings
        ("dispatched troops", 0.25, False),  # under the first cut, not under the reading's
        ("lloyd  AUSTIN", 0.0, False),  # the answer itself: nothing to replace
        ("U.S. Defense Secretary", 0.0, False),  # only the question's own words
    ],
)
def test_a_kept_answer_gives_way_to_a_reading_borne_out_under_its_own_cut(
    reading: str, p_no: float, given: bool
) -> None:
    fast = grounded(fast_answer())
    fake = Scripted({"Lloyd Austin": 0.1, "dispatched troops": p_no}, reading=reading)
    check = check_answer(fast, lambda: fake, READING)
    final = apply_check(fast, check)
    assert fake.reads == [(QUESTION, PASSAGE)] and check.read == reading
    assert len(fake.asked) == (2 if reading == "dispatched troops" else 1)
    if given:
        assert check.outcome == "replaced" and check.changed and check.p_no == p_no
        assert "bears it out" in check.reason and "'dispatched troops'" in check.reason
        assert final.text == "dispatched troops [1]."
    else:
        assert check.outcome == "kept" and not check.changed and check.p_no == 0.1
        assert final.text == fast.text
    assert check.seconds == pytest.approx(0.25 * len(fake.asked) + 0.5)


@pytest.mark.parametrize("kind", ["conflict", "list"])
def test_a_kept_list_or_conflict_stays_whole_and_a_turned_down_one_is_read(kind: str) -> None:
    fast = grounded(fast_answer())
    if kind == "conflict":
        fast = dataclasses.replace(fast, conflict=True)
        proposed = "Lloyd Austin"
    else:
        fast = dataclasses.replace(fast, short="Lloyd Austin; Pete Hegseth")
        proposed = "Pete Hegseth"  # one item borne out keeps the list
    kept = Scripted({proposed: 0.1, "dispatched troops": 0.0}, reading="dispatched troops")
    check = check_answer(fast, lambda: kept, READING)
    assert check.outcome == "kept" and kept.reads == [] and check.read is None
    down = Scripted({proposed: 0.9, "dispatched troops": 0.0}, reading="dispatched troops")
    check = check_answer(fast, lambda: down, READING)
    assert check.outcome == "replaced" and len(down.reads) == 1
    assert apply_check(fast, check).text == "dispatched troops [1]."


@pytest.mark.parametrize("withheld", [False, True], ids=["answered", "withheld"])
def test_a_list_keeps_only_the_items_the_check_bears_out_each_proposed_alone(
    withheld: bool,
) -> None:
    fast = grounded(withheld_answer() if withheld else fast_answer())
    target = fast.unabstained if withheld else fast
    assert target is not None
    target.short = "Lloyd Austin; Pete Hegseth"
    target.text = "Lloyd Austin [1]; Pete Hegseth [1]."
    fake = Scripted({"Lloyd Austin": 0.1, "Pete Hegseth": 0.9}, reading="dispatched troops")
    check = check_answer(fast, lambda: fake, READING)
    final = apply_check(fast, check)
    assert [a[2] for a in fake.asked] == ["Lloyd Austin", "Pete Hegseth"]
    assert {a[:2] for a in fake.asked} == {(QUESTION, PASSAGE)}
    # One item borne out keeps the list, without the other: nothing else is asked.
    assert check.outcome == ("answered" if withheld else "kept") and fake.reads == []
    assert check.dropped == ("Pete Hegseth",) and check.changed
    assert (check.p_no, check.cut) == (0.1, READING.p_no)
    assert "bear out 1 of its 2 items" in check.reason and "'Pete Hegseth'" in check.reason
    assert "0.100 to 0.900" in check.reason
    assert check.seconds == pytest.approx(0.5)
    assert final.text == "Lloyd Austin [1]." and not final.abstained and final.check is check
    assert check.unchecked == (fast.text if withheld else target.text)
    assert final.to_dict()["check"]["dropped"] == ["Pete Hegseth"]
    # Every item borne out: the list stays as it is.
    whole = Scripted({"Lloyd Austin": 0.1, "Pete Hegseth": 0.2})
    check = check_answer(fast, lambda: whole, READING)
    assert check.dropped == () and apply_check(fast, check).text == target.text


STANDALONE = "Which defense secretary confirmed the troop deployment to Russia?"
HISTORY = [
    {"role": "user", "content": "Who is Lloyd Austin?"},
    {"role": "assistant", "content": "The U.S. Defense Secretary."},
]


@pytest.mark.parametrize(
    ("question", "history", "condensed", "asked"),
    [
        ("What did he confirm?", HISTORY, "What did Lloyd Austin confirm?", True),
        ("What did he confirm?", HISTORY, None, False),  # no usable rewrite: the query
        ("What did he confirm?", HISTORY, BackendError("timed out"), False),
        ("What did he confirm?", [], "What did Lloyd Austin confirm?", False),  # no history
        (STANDALONE, HISTORY, "What did Lloyd Austin confirm?", False),
    ],
    ids=["follow-up", "no-rewrite", "failed", "no-history", "standalone"],
)
def test_a_follow_up_is_asked_as_the_model_rewrote_it_to_stand_alone(
    question: str, history: list[dict[str, str]], condensed: Any, asked: bool
) -> None:
    fast = with_alternatives(dataclasses.replace(fast_answer(), question=question))
    fake = Scripted({"Lloyd Austin": 0.9, "Pete Hegseth": 0.9, "10,000": 0.9})
    fake.condensed = condensed
    check = check_answer(fast, lambda: fake, READING, history)
    # Every question the model was asked (the checks, the reading) is the rewrite, or else
    # the standalone query; the rewrite is asked for only when the question leans on history.
    expected = condensed if asked else QUESTION
    assert {a[0] for a in fake.asked} == {r[0] for r in fake.reads} == {expected}
    assert fake.condensing == ([question] if history and question != STANDALONE else [])
    assert check.asked == (condensed if asked else None)
    assert (repr(condensed) in check.reason) == asked


def test_a_cut_without_reading_never_asks_the_model_to_read() -> None:
    fast = grounded(fast_answer())
    fake = Scripted({"Lloyd Austin": 0.9, "dispatched troops": 0.0}, reading="dispatched troops")
    check = check_answer(fast, lambda: fake, TRYING)
    assert fake.reads == [] and check.read is None and check.outcome == "abstained"


def test_a_span_is_located_word_for_word_as_article_offsets() -> None:
    text = "Lloyd  Austin, the U.S. Defense Secretary, said so. Austinite views differ."
    passages = [
        {"article_id": "x.txt", "start": 50, "text": "Nothing here."},
        {"article_id": "a.txt", "start": 1000, "text": text},
    ]
    passage, start, end = locate("lloyd austin", passages) or ({}, 0, 0)
    assert passage["article_id"] == "a.txt" and text[start - 1000 : end - 1000] == "Lloyd  Austin"
    assert locate("U.S. Defense", passages) == (passages[1], 1019, 1031)
    assert locate("Austini", passages) is None  # not inside another word
    assert locate("Secretary of Defense", passages) is None
    assert locate("  ", passages) is None


def test_a_span_listing_several_items_is_split_into_them() -> None:
    assert items("Chongjin, Hamhung and Musudan-ri") == ["Chongjin", "Hamhung", "Musudan-ri"]
    assert items("food; cash ,") == ["food", "cash"]
    assert items("Lloyd Austin") == [] and items("Austin,") == []


def test_the_fit_reads_only_where_the_model_s_span_scores_higher() -> None:
    from qa.careful_fit import analyse_reading, decide_replacing, fit_replacing

    def row(answerable: bool, p_no: float, right: float, read: dict[str, Any]) -> dict[str, Any]:
        return {
            "answerable": answerable,
            "fast_abstained": False,
            "committed_em": right,
            "committed_f1": right,
            "committed_p_no": p_no,
            "careful_seconds": 1.0,
            "alternatives": [],
            "read": {"seconds": 1.0, **read},
        }

    # Answerable questions whose candidate is wrong and turned down while the model reads the
    # right span with a low p_no; unanswerable ones whose reading gets a high p_no, or none.
    rows = [row(True, 0.9, 0.0, {"found": True, "p_no": 0.05, "em": 1.0, "f1": 1.0})] * 12
    rows += [row(False, 0.9, 0.0, {"found": True, "p_no": 0.6, "em": 0.0, "f1": 0.0})] * 12
    rows += [row(False, 0.9, 0.0, {"found": False})] * 12
    rows += [row(True, 0.1, 1.0, {"found": True, "p_no": 0.1, "em": 1.0, "f1": 1.0})] * 12
    rows = [{**r, "article": f"a{i % 3}"} for i, r in enumerate(rows)]
    fit = fit_replacing(rows, read=True)
    assert fit.read_cut is not None and 0.05 <= fit.read_cut < 0.6
    decided = [decide_replacing(r, fit) for r in rows]
    assert all(d["read"] and d["replaced"] and d["f1"] == 1.0 for d in decided[:12])
    assert all(d["read"] and d["abstained"] for d in decided[12:36])
    # Read after the first check kept them too; what it read scores no better.
    assert all(d["read"] and d["f1"] == 1.0 and not d["abstained"] for d in decided[36:])
    assert fit_replacing(rows).read_cut is None  # without `read`, it is never fitted
    assert analyse_reading(rows, 0)["used"]
    # Where the model's span is never right, it is not read.
    wrong = [{**r, "read": {**r["read"], "em": 0.0, "f1": 0.0}} for r in rows]
    assert fit_replacing(wrong, read=True).read_cut is None
    assert not analyse_reading(wrong, 0)["used"]


def test_the_cut_file_round_trips_its_reading() -> None:
    assert Cut.from_json(READING.to_json()) == READING
    assert Cut.from_json({**TRYING.to_json(), "read": True, "read_cut": 0.2}) == READING
    with pytest.raises(ValueError, match="read_cut"):
        Cut.from_json({**READING.to_json(), "read_cut": 1.5})


def test_the_cut_file_round_trips_its_alternatives_and_rejects_bad_ones() -> None:
    data = TRYING.to_json()
    assert (data["alternatives"], data["alternative_cut"]) == (2, 0.1)
    assert Cut.from_json(data) == TRYING
    old = {k: v for k, v in data.items() if k not in ("alternatives", "alternative_cut")}
    assert Cut.from_json(old).alternatives == 0  # a file from before: one check only
    for bad in ({"alternatives": -1}, {"alternative_cut": 1.2}):
        with pytest.raises(ValueError):
            Cut.from_json({**data, **bad})


def test_the_fit_tries_next_candidates_only_where_they_score_higher() -> None:
    from qa.careful_fit import decide_replacing, fit_replacing

    def row(
        answerable: bool, p_no: float, right: float, alt: list[tuple[float, float]]
    ) -> dict[str, Any]:
        return {
            "answerable": answerable,
            "fast_abstained": False,
            "fast_em": right,
            "fast_f1": right,
            "committed_em": right,
            "committed_f1": right,
            "committed_p_no": p_no,
            "careful_seconds": 1.0,
            "alternatives": [{"p_no": p, "em": f, "f1": f, "seconds": 1.0} for p, f in alt],
        }

    # Answerable questions whose best candidate is wrong and turned down while the second is
    # right with a low p_no; unanswerable ones whose next candidates get a higher p_no; and
    # answerable ones the first check keeps.
    rows = [row(True, 0.9, 0.0, [(0.9, 0.0), (0.05, 1.0)]) for _ in range(12)]
    rows += [row(False, 0.9, 0.0, [(0.6, 0.0), (0.7, 0.0)]) for _ in range(24)]
    rows += [row(True, 0.1, 1.0, []) for _ in range(12)]
    for i, r in enumerate(rows):
        r["article"] = f"a{i % 3}"
    fit = fit_replacing(rows)
    assert fit.cut < 0.9 and fit.alternatives == 2 and 0.05 <= fit.alternative_cut < 0.6
    decided = [decide_replacing(r, fit) for r in rows]
    assert all(d["replaced"] and d["f1"] == 1.0 and d["tried"] == 2 for d in decided[:12])
    assert not any(d["replaced"] or not d["abstained"] for d in decided[12:36])
    assert all(d["tried"] == 0 and d["f1"] == 1.0 for d in decided[36:])
    # Where no next candidate is ever right, none is tried.
    wrong = [
        {**r, "alternatives": [{**a, "em": 0.0, "f1": 0.0} for a in r["alternatives"]]}
        for r in rows
    ]
    assert fit_replacing(wrong).alternatives == 0


def _withheld_rows(right: bool) -> list[dict[str, Any]]:
    """Questions the fast gate answered (right ones the check keeps, wrong ones it turns
    down) and questions it abstained on whose withheld candidate the check bears out: right
    answers when `right`, else unanswerable questions."""

    def row(answerable: bool, abstained: bool, p_no: float, f1: float) -> dict[str, Any]:
        return {
            "answerable": answerable,
            "fast_abstained": abstained,
            "fast_em": 0.0 if abstained else f1,
            "fast_f1": 0.0 if abstained else f1,
            "committed_em": f1,
            "committed_f1": f1,
            "committed_p_no": p_no,
            "careful_seconds": 1.0,
            "fast_seconds": 0.01,
            "alternatives": [],
        }

    rows = [row(True, False, 0.1, 1.0) for _ in range(24)]
    rows += [row(False, False, 0.8, 0.0) for _ in range(24)]
    rows += [row(right, True, 0.1, 1.0 if right else 0.0) for _ in range(24)]
    return [{**r, "article": f"a{i % 4}"} for i, r in enumerate(rows)]


@pytest.mark.parametrize("right", [True, False], ids=["withheld-right", "withheld-wrong"])
def test_the_fit_checks_what_the_gate_withheld_only_where_that_scores_higher(right: bool) -> None:
    from qa.careful_fit import analyse_withheld, decide_replacing, fit_replacing

    rows = _withheld_rows(right)
    withheld = analyse_withheld(rows, 0, read=False, alternatives=False)
    assert withheld["used"] == right and withheld["withheld"] == 24
    if right:
        assert withheld["given_out_of_fold"] == withheld["given_right"] == 24
    else:
        assert withheld["given_right"] == 0 and withheld["gain"] <= 0
    # Left as they are, the gate's abstentions are never checked and its cut is fitted on
    # the questions it answered.
    leave = fit_replacing(rows, withheld=False)
    assert not leave.withheld and 0.1 <= leave.cut < 0.8
    decided = [decide_replacing(r, leave) for r in rows]
    assert all(d["abstained"] for d, r in zip(decided, rows, strict=True) if r["fast_abstained"])
    assert not any(d["abstained"] for d in decided[:24])


def test_a_cut_that_leaves_the_gate_s_abstentions_asks_nothing_and_round_trips() -> None:
    leaving = dataclasses.replace(CUT, withheld=False)
    fake = FakeVerifier(0.0)
    fast = withheld_answer()
    check = check_answer(fast, lambda: fake, leaving)
    final = apply_check(fast, check)
    assert fake.asked == [] and fake.reads == []
    assert check.outcome == "skipped" and not check.changed
    assert "leaves its abstentions" in check.reason
    assert final.abstained and final.text == ABSTAIN
    # An answer the gate gave is checked as before.
    assert check_answer(fast_answer(), lambda: fake, leaving).outcome == "kept"
    assert Cut.from_json(leaving.to_json()) == leaving
    old = {k: v for k, v in CUT.to_json().items() if k != "withheld"}
    assert Cut.from_json(old).withheld  # a file from before: withheld answers are checked


def test_people_see_what_the_check_found_and_what_it_replaced() -> None:
    from qa.cli import check_line
    from qa.ui import check_text

    fast = with_alternatives(fast_answer())
    replaced = check_answer(fast, lambda: Scripted({"Pete Hegseth": 0.0}), TRYING)
    abstained = check_answer(fast, lambda: Scripted({}), TRYING)
    kept = check_answer(fast, lambda: Scripted({"Lloyd Austin": 0.0}), TRYING)
    assert (replaced.outcome, abstained.outcome, kept.outcome) == ("replaced", "abstained", "kept")
    for check in (replaced, abstained):
        for shown in (check_text(check) or "", check_line(check)):
            assert check.reason in shown and "Lloyd Austin [1]." in shown
    for shown in (check_text(kept) or "", check_line(kept)):
        assert kept.reason in shown and "unchecked" not in shown


# -- the cut file --------------------------------------------------------------------------


def test_the_packaged_cut_is_fitted_and_says_on_what() -> None:
    cut = load_cut(None)
    assert 0.0 < cut.p_no < 1.0 and cut.answerer == "extractive"
    info = cut.info
    assert info["sample"]["seed"] == 0 and info["sample"]["n"] >= 200
    assert len(info["sample"]["ids_sha256"]) == 64 and len(info["sample"]["gold_sha256"]) == 64
    assert 0.5 < info["auc"] <= 1.0 and info["model"].endswith(".gguf")
    assert info["created"] and set(info["out_of_fold"]) >= {"HasAns_f1", "NoAns", "f1"}


@pytest.mark.parametrize(
    "content",
    ["", "{}", '{"format": "newsqa-careful-cut/1", "cut": 1.5, "answerer": "extractive"}'],
    ids=["empty", "no-format", "not-a-probability"],
)
def test_a_bad_cut_file_says_how_to_refit(tmp_path: Path, content: str) -> None:
    path = tmp_path / "cut.json"
    path.write_text(content)
    with pytest.raises(NewsQAError, match=r"qa fit --careful") as err:
        load_cut(path)
    assert str(path) in str(err.value)


def test_the_fit_decides_each_article_with_a_cut_fitted_on_the_others() -> None:
    from qa.careful_fit import CAREFUL, cut_on, out_of_fold

    rows = []
    for a in range(4):
        for i in range(20):
            answerable = i % 2 == 0
            # Article 0 is the odd one: its unanswerable questions get a low p_no.
            p_no = 0.1 + 0.02 * (i % 5) if answerable or a == 0 else 0.6 + 0.02 * (i % 5)
            rows.append(
                {
                    "article": f"a{a}",
                    "answerable": answerable,
                    "fast_abstained": False,
                    "fast_em": 1.0,
                    "fast_f1": 1.0,
                    "committed_em": 1.0,
                    "committed_f1": 1.0,
                    "committed_p_no": p_no,
                }
            )
    decided, cuts = out_of_fold(rows, CAREFUL)
    assert cuts["a0"] == round(cut_on([r for r in rows if r["article"] != "a0"], CAREFUL), 4)
    assert 0.2 < cuts["a0"] < 0.6 and cuts["a0"] != cuts["a1"]
    # Above its fold's cut a question abstains; below, it keeps the fast answer.
    for r, d in zip(rows, decided, strict=True):
        assert d["abstained"] == (r["committed_p_no"] > cuts[r["article"]])


def test_a_cut_fitted_with_the_gate_probability_moves_with_it() -> None:
    moving = Cut(0.3, "extractive", {}, confidence_cut=0.1, confidence_slope=0.5)
    assert Cut.from_json(moving.to_json()) == moving
    for confidence, outcome, cut in ((0.9, "kept", 0.55), (0.0, "abstained", 0.1)):
        fast = dataclasses.replace(fast_answer(), confidence=confidence)
        check = check_answer(fast, lambda: FakeVerifier(0.4), moving)
        assert (check.outcome, check.cut) == (outcome, pytest.approx(cut))
    # An answer without the gate's probability is held to the cut on p_no alone.
    check = check_answer(fast_answer(), lambda: FakeVerifier(0.4), moving)
    assert (check.outcome, check.cut) == ("abstained", 0.3)


def _joint_rows(informative: bool) -> list[dict[str, Any]]:
    """Rows whose p_no barely separates the unanswerable questions; the gate's probability
    does when `informative`, and is noise otherwise."""
    import random

    rng = random.Random(0)
    rows = []
    for i in range(160):
        answerable = i % 2 == 0
        confidence = (0.7 if answerable else 0.2) if informative else rng.random()
        rows.append(
            {
                "article": f"a{i % 4}",
                "answerable": answerable,
                "fast_abstained": False,
                "committed_em": float(answerable),
                "committed_f1": float(answerable),
                "committed_p_no": 0.3 + 0.2 * rng.random() + (0.05 if answerable else 0.1),
                "committed_confidence": confidence + 0.1 * rng.random(),
            }
        )
    return rows


@pytest.mark.parametrize("informative", [True, False], ids=["separates", "noise"])
def test_the_gate_probability_joins_the_decision_only_when_it_helps_out_of_fold(
    informative: bool,
) -> None:
    from qa.careful_fit import analyse_joint

    joint = analyse_joint(_joint_rows(informative), seed=0)
    assert joint["used"] == informative
    if informative:
        assert joint["scores"]["f1"] > 0.9 and joint["fit"]["slope"] > 0
    old = [{k: v for k, v in r.items() if k != "committed_confidence"} for r in _joint_rows(True)]
    assert analyse_joint(old, seed=0)["used"] is False  # rows from before it was recorded


def test_qa_fit_careful_writes_a_cut_file_careful_mode_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qa.cli import main

    rows = [
        {
            **r,
            "id": f"q{i}",
            "fast_em": r["committed_em"],
            "fast_f1": r["committed_f1"],
            "p_no": r["committed_p_no"],
            "fast_seconds": 0.1,
            "careful_seconds": 1.0,
            "check_seconds": 0.9,
            "alternatives": [],
        }
        for i, r in enumerate(_joint_rows(True))
    ]
    meta = {
        "gold": "g.jsonl",
        "gold_sha256": "0" * 64,
        "n": len(rows),
        "seed": 0,
        "ids_sha256": "1" * 64,
        "verifier": "llamacpp",
        "model": "m.gguf",
        "threads": 2,
        "extractive_model": "packaged",
        "created": "2026-12-04T00:00:00+00:00",
    }
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"meta": meta, "rows": rows}))
    out = tmp_path / "careful.json"
    assert main(["fit", "--careful", str(results), "--out", str(out)]) == 0
    cut = load_cut(out)
    assert cut.confidence_cut is not None and cut.info["command"] == "qa fit --careful"
    assert "gate's probability used" in capsys.readouterr().out
    results.write_text("{}")
    assert main(["fit", "--careful", str(results), "--out", str(out)]) != 0
    assert "eval.careful_sample" in capsys.readouterr().err


# -- through the Assistant ---------------------------------------------------------------


@pytest.mark.slow
def test_the_stream_sends_the_fast_answer_then_the_check(seed_settings: Settings) -> None:
    from qa.assistant import Assistant

    fake = FakeVerifier(0.99)
    events = list(Assistant(seed_settings, verifier=fake).stream(QUESTION, verify=True))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Retrieved" and kinds[-3:] == ["Checking", "Check", "Answer"]
    assert set(kinds[1:-3]) == {"str"}
    fast, check, final = events[-3], events[-2], events[-1]
    assert isinstance(fast, Checking) and isinstance(check, Check) and isinstance(final, Answer)
    # The deltas were the fast answer; careful mode with no answerer named is the extractive one's.
    assert "".join(e for e in events if isinstance(e, str)) == fast.answer.text
    assert fast.answer.answerer == final.answerer == load_cut(None).answerer
    assert not fast.answer.abstained and fast.answer.check is None
    # The verifier read the passage the fast answer cites, and said it does not bear it out;
    # then each next-best candidate the packaged cut file tries, each turned down too.
    (question, passage, short), *tried = fake.asked
    assert len(tried) == check.tried <= load_cut(None).alternatives
    assert all(t[0] == question and t[2] != short for t in tried)
    assert fast.answer.text.startswith(short + " [1]")
    assert question == QUESTION and passage == cited_passage(fast.answer)["text"].strip()
    assert isinstance(events[0], Retrieved) and passage in [h.text for h in events[0].hits]
    assert final.check is check and check.outcome == "abstained"
    assert final.abstained and final.text == ABSTAIN and check.unchecked == fast.answer.text
    assert final.timings_ms["check_ms"] > 0 and "check_ms" not in fast.answer.timings_ms


@pytest.mark.slow
@pytest.mark.parametrize("p_no", [0.0, 0.99])
def test_careful_mode_checks_the_answer_the_gate_withheld(
    seed_settings: Settings, p_no: float
) -> None:
    from qa.assistant import Assistant

    fake = FakeVerifier(p_no)
    assistant = Assistant(seed_settings, verifier=fake)
    fast = assistant.ask(WITHHELD, answerer="extractive")
    assert fast.abstained and fast.unabstained is not None and fast.unabstained.citations
    assert "unabstained" not in fast.to_dict()
    final = assistant.ask(WITHHELD, verify=True)
    assert final.check is not None
    if not load_cut(None).withheld:  # the packaged fit leaves the gate's abstentions be
        assert fake.asked == [] and final.check.outcome == "skipped"
        assert final.abstained and final.text == ABSTAIN
        return
    # First the candidate the gate withheld; when it is turned down, the next-best ones the
    # packaged cut file tries.
    (_, passage, _), *tried = fake.asked
    assert passage == cited_passage(fast.unabstained)["text"].strip()
    assert len(tried) == final.check.tried <= (load_cut(None).alternatives if p_no else 0)
    if p_no == 0.0:
        assert final.check.outcome == "answered" and not final.abstained
        assert final.text == fast.unabstained.text and final.citations[0].article_id
    else:
        assert final.check.outcome == "abstained" and final.abstained and final.text == ABSTAIN
        assert final.check.unchecked == fast.unabstained.text


@pytest.mark.slow
def test_a_span_the_model_reads_is_given_as_the_article_spells_it_citing_its_sentence(
    seed_settings: Settings, tmp_path: Path
) -> None:
    from qa.assistant import Assistant

    cut = tmp_path / "careful.json"
    cut.write_text(
        json.dumps(dataclasses.replace(load_cut(None), read=True, read_cut=0.2).to_json())
    )
    assistant = Assistant(seed_settings.model_copy(update={"verify_cut": cut}), verifier=None)
    fast = assistant.ask(QUESTION, answerer="extractive")
    # The model "reads" the first word of the cited passage that is not in the question,
    # in capitals: the answer gives it as the article spells it.
    asked = {w.casefold() for w in re.findall(r"\w+", QUESTION)}
    passage = cited_passage(fast)["text"]
    word = next(w for w in re.findall(r"[A-Za-z]{4,}", passage) if w.casefold() not in asked)
    fake = Scripted({word: 0.0}, reading=word.upper())
    assistant = Assistant(seed_settings.model_copy(update={"verify_cut": cut}), verifier=fake)
    final = assistant.ask(QUESTION, verify=True)
    check = final.check
    assert check is not None and check.outcome == "replaced" and check.read == word.upper()
    # The first check, then the check of the reading: no next-best candidate was needed.
    assert [a[2] for a in fake.asked] == [fast.short, word]
    assert fake.reads == [fake.asked[0][:2]]
    # As the article spells it, but for the reply's first letter.
    assert final.text.startswith(f"{word[:1].upper()}{word[1:]} [1]. ") and not final.abstained
    (citation,) = final.citations
    snap = assistant.snapshot()
    text = snap.articles[citation.article_id]["text"]
    assert citation.quote == text[citation.start : citation.end] and word in citation.quote
    # The sentence of the index that holds the span, within a passage the model was shown.
    sentences = {s for c in snap.chunks for s in c.sentences}
    assert (citation.start, citation.end) in sentences
    assert citation.quote.strip() in fake.asked[0][1]
    assert (check.article_id, check.start, check.end) == (
        citation.article_id,
        citation.start,
        citation.end,
    )


@pytest.mark.slow
def test_a_reading_that_lists_several_items_found_apart_is_given_as_their_list(
    seed_settings: Settings, tmp_path: Path
) -> None:
    from qa.assistant import Assistant

    cut = tmp_path / "careful.json"
    cut.write_text(json.dumps(dataclasses.replace(load_cut(None), read=True).to_json()))
    fast = Assistant(seed_settings).ask(QUESTION, answerer="extractive")
    # Two words of the cited passage the question lacks, far apart, read as one list in
    # the other order: not in the passage that way, but each item is.
    asked = {w.casefold() for w in re.findall(r"\w+", QUESTION)}
    passage = cited_passage(fast)["text"]
    words = list(
        dict.fromkeys(w for w in re.findall(r"[A-Za-z]{4,}", passage) if w.casefold() not in asked)
    )
    first, last = words[0], words[-1]
    reading = f"{last.lower()}, and {first.upper()}"
    fake = Scripted({f"{last}; {first}": 0.0}, reading=reading)
    assistant = Assistant(seed_settings.model_copy(update={"verify_cut": cut}), verifier=fake)
    final = assistant.ask(QUESTION, verify=True)
    assert final.check is not None and final.check.outcome == "replaced"
    assert [a[2] for a in fake.asked][-1] == f"{last}; {first}"
    assert final.text.startswith(f"{last[:1].upper()}{last[1:]} [1]; {first} [")
    snap = assistant.snapshot()
    for citation in final.citations:
        text = snap.articles[citation.article_id]["text"]
        assert citation.quote == text[citation.start : citation.end]
    assert all(any(w in c.quote for c in final.citations) for w in (first, last))


@pytest.mark.slow
def test_a_list_without_the_items_the_check_drops_cites_the_sentences_of_the_rest(
    seed_settings: Settings,
) -> None:
    from qa.assistant import Assistant

    question = "What weapons has North Korea given Russia?"
    fast = Assistant(seed_settings).ask(question, answerer="extractive")
    assert fast.short is not None and "; " in fast.short  # the answerer lists several
    first, *rest = fast.short.split("; ")
    fake = Scripted({item: 0.0 for item in rest})  # the first item is not borne out
    final = Assistant(seed_settings, verifier=fake).ask(question, verify=True)
    check = final.check
    assert check is not None and check.outcome == "kept" and check.dropped == (first,)
    assert [a[2] for a in fake.asked] == [first, *rest]
    lead = final.text.split(". ", 1)[0]
    assert first.casefold() not in lead.casefold()
    assert [re.sub(r" \[\d+\]$", "", part).casefold() for part in lead.split("; ")] == [
        item.casefold() for item in dict.fromkeys(rest)
    ]
    snap = Assistant(seed_settings).snapshot()
    sentences = {s for c in snap.chunks for s in c.sentences}
    for citation in final.citations:
        text = snap.articles[citation.article_id]["text"]
        assert citation.quote == text[citation.start : citation.end]
        assert (citation.start, citation.end) in sentences


@pytest.mark.slow
def test_careful_mode_follows_the_setting_and_the_request(seed_settings: Settings) -> None:
    from qa.assistant import Assistant

    fake = FakeVerifier(0.0)
    on = Assistant(seed_settings.model_copy(update={"verify": True}), verifier=fake)
    assert on.ask(QUESTION).check is not None and len(fake.asked) == 1
    assert on.ask(QUESTION, verify=False).check is None and len(fake.asked) == 1
    off = Assistant(seed_settings, verifier=fake)
    assert off.ask(QUESTION).check is None and len(fake.asked) == 1
    kept = off.ask(QUESTION, verify=True)
    assert kept.check is not None and kept.check.outcome == "kept"
    assert kept.text == off.ask(QUESTION, answerer="extractive").text
    # An answerer named explicitly is the one checked.
    assert off.ask(QUESTION, answerer="extractive", verify=True).answerer == "extractive"


@pytest.fixture(params=["closed-port", "silent", "no-logprobs"])
def failing_backend(request: pytest.FixtureRequest) -> Iterator[tuple[dict[str, Any], str]]:
    """A real backend careful mode cannot use, as settings, and what its notice must say:
    a closed port, a server that never answers, an endpoint without log-probabilities."""
    base = {"verifier": "openai", "openai_model": "m", "verify_timeout_s": 0.5}
    if request.param == "closed-port":
        url = f"http://127.0.0.1:{free_port()}/v1"
        yield {**base, "openai_base_url": url}, "could not be reached"
    elif request.param == "silent":
        silent = Silent()
        try:
            url = f"http://127.0.0.1:{silent.port}/v1"
            yield {**base, "openai_base_url": url}, "timed out after 0.5 s"
        finally:
            silent.close()
    else:
        stub = Stub(None)
        try:
            yield {**base, "openai_base_url": stub.url}, "returned no token log-probabilities"
        finally:
            stub.close()


@pytest.mark.slow
def test_a_backend_that_cannot_check_keeps_the_fast_answer_with_a_notice(
    seed_settings: Settings, failing_backend: tuple[dict[str, Any], str]
) -> None:
    from qa.assistant import Assistant

    update, says = failing_backend
    assistant = Assistant(seed_settings.model_copy(update=update))
    final = assistant.ask(QUESTION, verify=True)
    fast = assistant.ask(QUESTION, answerer="extractive")
    assert final.text == fast.text and final.citations == fast.citations and not final.abstained
    assert final.check is not None and final.check.outcome == "fallback"
    assert final.notice is not None and says in final.notice
    assert update["openai_base_url"] in final.notice
    # The stream never loses the answer either: its final event is the fast answer, noticed.
    events = list(assistant.stream(QUESTION, verify=True))
    assert isinstance(events[-1], Answer) and events[-1].text == fast.text
    assert events[-1].notice == final.notice


def test_qa_serve_reports_a_verifier_it_cannot_use_at_start_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from qa.assistant import Assistant
    from qa.server import _probe_verifier

    stub = Stub(None)
    try:
        settings = Settings(verifier="openai", openai_base_url=stub.url, openai_model="m")
        _probe_verifier(Assistant(settings.model_copy(update={"verify": True})))
    finally:
        stub.close()
    out = capsys.readouterr().out
    assert "careful mode (QA_VERIFY) cannot check answers" in out
    assert "returned no token log-probabilities" in out and "unchecked, with a notice" in out


@pytest.mark.llm
@pytest.mark.slow
def test_the_real_model_s_probability_meets_the_fitted_cut(
    seed_settings: Settings, tmp_path: Path
) -> None:
    from qa.assistant import Assistant

    if not SMOLLM2.is_file():
        pytest.fail(f"{SMOLLM2} is missing: run `make llm-models`")
    # The packaged cut alone: what comes after a turn-down (next-best candidates, the model's
    # reading) is tested at the seam above.
    packaged = tmp_path / "packaged-cut.json"
    packaged.write_text(json.dumps(Cut(load_cut(None).p_no, "extractive", {}).to_json()))
    local: dict[str, Any] = {**LOCAL, "llamacpp_model": SMOLLM2, "verify_timeout_s": 120.0}
    settings = seed_settings.model_copy(update={**local, "verify_cut": packaged})
    first = Assistant(settings).ask(QUESTION, verify=True)
    check = first.check
    assert check is not None and check.outcome in {"kept", "abstained"}, check
    assert check.p_no is not None and 0.0 <= check.p_no <= 1.0 and check.seconds > 0
    assert check.cut == load_cut(None).p_no
    assert check.outcome == ("abstained" if check.p_no > check.cut else "kept")
    # The same probability against cuts just below and just above it.
    for cut, outcome in ((check.p_no - 1e-4, "abstained"), (check.p_no + 1e-4, "kept")):
        path = tmp_path / f"cut-{outcome}.json"
        path.write_text(json.dumps(Cut(max(0.0, min(1.0, cut)), "extractive", {}).to_json()))
        again = Assistant(settings.model_copy(update={"verify_cut": path}))
        answer = again.ask(QUESTION, verify=True)
        assert answer.check is not None and answer.check.p_no == check.p_no
        assert answer.check.outcome == outcome
        assert answer.abstained == (outcome == "abstained")


@pytest.mark.llm
@pytest.mark.slow
def test_the_benchmark_reports_careful_latency_against_its_floor(seed_settings: Settings) -> None:
    """`qa bench`'s careful figures with the real model: ratios and shares, no timing bar."""
    from qa.assistant import Assistant
    from qa.benchmarks.careful import bench_careful
    from qa.benchmarks.report import careful_section

    local: dict[str, Any] = {**LOCAL, "llamacpp_model": SMOLLM2, "verify_timeout_s": 120.0}
    questions = [QUESTION, "Who is Kim Hong-ki?", "What did Russia say about the troops?"]
    r = bench_careful(Assistant(seed_settings.model_copy(update=local)), questions * 2, 3)
    assert r["questions"] == 3 and sum(r["outcomes"].values()) == 3
    checked = sum(r["outcomes"].get(k, 0) for k in ("kept", "answered", "abstained"))
    assert r["checked"] == checked
    assert r["checked"] > 0, r
    for key in ("check_ratio_to_floor", "careful_ratio_to_floor"):
        assert isinstance(r[key], float) and r[key] > 0, key
    # Every "answered" is a change; an abstention is one only when the fast answer answered.
    lowest = r["outcomes"].get("answered", 0)
    highest = lowest + r["outcomes"].get("abstained", 0)
    assert round(lowest / 3, 3) <= r["changed_share"] <= round(highest / 3, 3)
    # llama.cpp reports its own prompt evaluation for the floor's request.
    assert r["prompt_tokens_p50"] > 20 and r["server_prompt_ms_p50"] > 0
    assert "ratio p50 / p95 to the floor" in careful_section(r)
