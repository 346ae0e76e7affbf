"""Careful mode: the fast answer, then the verifier's check of the passage it cites.

The decisions (kept, answered, abstained with the reason, fallback, skipped) are tested with a
deterministic fake at the project's own seam, the verifier's
`check(question, passage, answer)`;
the wiring with the real SmolLM2 model (a probability is read and the fitted cut applied to
it) and with a real closed port (the fallback).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index.errors import BackendError, NewsQAError
from index.settings import Settings
from qa.answer import Answer, Check, Checking, Citation, Retrieved, Trace
from qa.careful import ABSTAIN, Cut, apply_check, check_answer, cited_passage, load_cut
from qa.verify import Verdict
from tests.conftest import free_port
from tests.test_answerers import Silent
from tests.test_verify import LOCAL, SMOLLM2, Stub

# A seed question the extractive answerer answers, and one its gate abstains on although the
# articles say (the candidate it withholds is what careful mode checks).
QUESTION = "Which U.S. defense secretary confirmed that North Korea had sent troops to Russia?"
WITHHELD = "What does the abbreviation KPA stand for?"
PASSAGE = "U.S. Defense Secretary Lloyd Austin confirmed that North Korea has dispatched troops."
CUT = Cut(0.3, "extractive", {})


class FakeVerifier:
    """The verifier's seam: a fixed p_no (or a failure); records every question asked."""

    where = "a fake verifier"

    def __init__(self, p_no: float = 0.1, error: Exception | None = None) -> None:
        self.p_no = p_no
        self.error = error
        self.asked: list[tuple[str, str]] = []

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
    (_, passage, before_marker), (_, _, short) = fake.asked
    assert passage == f"{PASSAGE}\n\nAnn Lee also spoke."
    assert (before_marker, short) == ("Lloyd Austin", "Lloyd Austin; Ann Lee")


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
    with pytest.raises(NewsQAError, match=r"eval\.careful_sample") as err:
        load_cut(path)
    assert str(path) in str(err.value)


def test_the_fit_decides_each_article_with_a_cut_fitted_on_the_others() -> None:
    from eval.careful_sample import CAREFUL, cut_on, out_of_fold

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
    # The verifier read the passage the fast answer cites, and said it does not bear it out.
    ((question, passage, short),) = fake.asked
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
    ((_, passage, _),) = fake.asked
    assert passage == cited_passage(fast.unabstained)["text"].strip()
    assert final.check is not None
    if p_no == 0.0:
        assert final.check.outcome == "answered" and not final.abstained
        assert final.text == fast.unabstained.text and final.citations[0].article_id
    else:
        assert final.check.outcome == "abstained" and final.abstained and final.text == ABSTAIN
        assert final.check.unchecked == fast.unabstained.text


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
    local: dict[str, Any] = {**LOCAL, "llamacpp_model": SMOLLM2, "verify_timeout_s": 120.0}
    settings = seed_settings.model_copy(update=local)
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
