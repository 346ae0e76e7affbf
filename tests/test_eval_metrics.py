"""The evaluation metrics on hand-made predictions: each can both pass and fail."""

from __future__ import annotations

from typing import Any

import pytest

from eval import metrics as m
from eval.metrics import GoldItem, Prediction

ARTICLE = "Officials said 1,500 soldiers arrived. Austin called it a very, very serious issue."
ARTICLES = {"a.txt": ARTICLE}


def gold(answers: tuple[str, ...] = ("Lloyd Austin", "Austin"), kind: str = "factoid") -> GoldItem:
    sources = ("a.txt",) if answers else ()
    return GoldItem(id="t", question="q?", answers=answers, sources=sources, kind=kind)


def cite(n: int, start: int, end: int, article_id: str = "a.txt") -> dict[str, Any]:
    return {
        "n": n,
        "article_id": article_id,
        "quote": ARTICLE[start:end],
        "start": start,
        "end": end,
    }


def pred(answer: str, abstained: bool = False, **kw: Any) -> Prediction:
    return Prediction(answer=answer, abstained=abstained, **kw)


SECOND = ARTICLE.index("Austin")
SECOND_CITE = cite(1, SECOND, len(ARTICLE))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1,500", "1500"),
        ("The U.S.", "u s"),
        ("Korean People’s Army", "korean people's army"),
        ("Kim Hong-ki", "kim hong ki"),
        ("  A   very,  very SERIOUS issue! ", "very very serious issue"),
        ("$2,000 [3]", "2000"),
    ],
)
def test_normalisation_makes_these_equal(a: str, b: str) -> None:
    assert m.normalize(a) == m.normalize(b)


@pytest.mark.parametrize(
    ("text", "answer", "expected"),
    [
        ("about 1,500 troops", "1500", True),
        ("about 1500 troops", "1,500", True),
        ("up to 100,000 troops", "10,000", False),  # "100000" holds "10000" as a substring
        ("up to 100,000 troops", "100,000", True),
        ("a force of 12,000", "1,200", False),
        ("1.28 million soldiers", "1.2 million", False),
        ("a 1.2 million-strong army", "1.2 million", True),
        ("a 1.2 million-strong army", "2 million", False),  # a decimal is one token
        ("signed in June 2024", "June", True),
        ("Junebug", "June", False),
        ("they sent 3 ships [1]", "1", False),  # citation markers are not part of the answer
        ("anything at all", "", False),  # an empty gold answer never matches
        ("near Musudan-ri", "Musudan", True),
    ],
)
def test_contains_compares_whole_tokens(text: str, answer: str, expected: bool) -> None:
    assert m.contains(text, answer) is expected


def test_accuracy_and_correct_on_a_right_and_a_wrong_factoid() -> None:
    right = pred("Defense Secretary Lloyd Austin confirmed it [1].")
    wrong = pred("Zelenskyy confirmed it [1].")
    assert m.accuracy(gold(), right) == 1.0 and m.correct(gold(), right)
    assert m.accuracy(gold(), wrong) == 0.0 and not m.correct(gold(), wrong)


def test_an_abstention_that_names_the_answer_is_not_credited() -> None:
    p = pred("The articles don't say how old Austin is.", abstained=True)
    assert m.accuracy(gold(), p) == 0.0
    assert m.exact_match(gold(), p) == 0.0
    assert m.f1(gold(), p) == 0.0
    assert m.false_abstention(gold(), p) is True
    assert m.abstention(gold(), p) is None


def test_unanswerable_items_score_abstention() -> None:
    item = gold(answers=(), kind="unanswerable")
    abstained, answered = pred("The articles don't say.", True), pred("He is 71 [1].")
    assert m.accuracy(item, abstained) == 1.0 and m.correct(item, abstained)
    assert m.accuracy(item, answered) == 0.0 and not m.correct(item, answered)
    assert m.abstention(item, abstained) is True
    assert m.abstention(item, answered) is False
    assert m.false_abstention(item, abstained) is None
    assert m.exact_match(item, answered) is None and m.f1(item, answered) is None
    assert m.source_hit(item, answered) is None and m.answer_in_context(item, answered) is None


@pytest.mark.parametrize(
    ("answer", "share", "is_correct"),
    [
        ("artillery, missiles and conventional arms", 1.0, True),
        ("artillery and missiles", 2 / 3, True),
        ("only artillery shells", 1 / 3, False),
        ("food", 0.0, False),
    ],
)
def test_list_accuracy_is_the_share_of_items_covered(
    answer: str, share: float, is_correct: bool
) -> None:
    item = gold(answers=("artillery", "missiles", "conventional arms"), kind="list")
    assert m.accuracy(item, pred(answer)) == pytest.approx(share)
    assert m.correct(item, pred(answer)) is is_correct


def test_conflict_items_need_the_claims_and_record_the_conflict_flag() -> None:
    item = gold(answers=("1,500", "3,000"), kind="conflict")
    both = pred("Sources differ: 1500 [1] or 3,000 [2].", conflict=True)
    one = pred("About 1,500 [1].")
    assert m.accuracy(item, both) == 1.0 and m.conflict_flagged(item, both) is True
    assert m.accuracy(item, one) == 0.5 and m.conflict_flagged(item, one) is False
    assert m.conflict_flagged(gold(), both) is None


def test_exact_match_and_f1_use_the_best_gold_answer() -> None:
    assert m.exact_match(gold(), pred("Austin.")) == 1.0
    assert m.exact_match(gold(), pred("It was Austin.")) == 0.0
    assert m.f1(gold(), pred("Lloyd Austin")) == 1.0
    # "the secretary lloyd austin" vs "lloyd austin": precision 2/3, recall 1 -> 0.8
    assert m.f1(gold(), pred("The secretary, Lloyd Austin")) == pytest.approx(0.8)
    assert m.f1(gold(), pred("Zelenskyy")) == 0.0


def test_citation_validity_accepts_exact_quotes() -> None:
    p = pred("Austin [1].", citations=(SECOND_CITE,))
    assert m.citation_validity(p, ARTICLES) is True


@pytest.mark.parametrize(
    ("answer", "citation", "articles"),
    [
        ("Austin [2].", SECOND_CITE, ARTICLES),  # marker with no such citation
        ("Austin [1].", {**SECOND_CITE, "start": SECOND + 1}, ARTICLES),  # shifted offsets
        ("Austin [1].", {**SECOND_CITE, "end": len(ARTICLE) + 5}, ARTICLES),  # past the end
        ("Austin [1].", {**SECOND_CITE, "quote": "Austin said so."}, ARTICLES),  # made-up quote
        ("Austin [1].", {**SECOND_CITE, "article_id": "gone.txt"}, ARTICLES),  # unknown article
        ("Austin.", SECOND_CITE, ARTICLES),  # citations, but the text cites none of them
        ("Austin [1].", SECOND_CITE, {"a.txt": ARTICLE.upper()}),  # the text at offsets differs
    ],
)
def test_citation_validity_rejects(
    answer: str, citation: dict[str, Any], articles: dict[str, str]
) -> None:
    assert m.citation_validity(pred(answer, citations=(citation,)), articles) is False


def test_citation_validity_of_uncited_answers_and_abstentions() -> None:
    assert m.citation_validity(pred("Austin."), ARTICLES) is False
    assert m.citation_validity(pred("The articles don't say.", True), ARTICLES) is None


def test_citation_support_needs_the_answer_in_a_cited_quote() -> None:
    first = cite(1, 0, ARTICLE.index("Austin"))
    supported = pred("Austin [1].", citations=(SECOND_CITE,))
    unsupported = pred("Austin [1].", citations=(first,))
    assert m.citation_support(gold(), supported) == 1.0
    assert m.citation_support(gold(), unsupported) == 0.0
    assert m.citation_support(gold(), pred("Zelenskyy [1].", citations=(first,))) is None
    items = gold(answers=("1,500", "serious issue", "drones"), kind="list")
    both = pred("1500 [1] and a serious issue [1].", citations=(first,))
    assert m.citation_support(items, both) == 0.5  # "serious issue" is not in the cited quote


def test_answered_correctly_needs_a_correct_supported_answer() -> None:
    first = cite(1, 0, ARTICLE.index("Austin"))
    assert m.answered_correctly(gold(), pred("Austin [1].", citations=(SECOND_CITE,))) is True
    assert m.answered_correctly(gold(), pred("Austin [1].", citations=(first,))) is False
    assert m.answered_correctly(gold(), pred("Zelenskyy [1].", citations=(SECOND_CITE,))) is False
    assert m.answered_correctly(gold(), pred("The articles don't say.", True)) is False
    assert m.answered_correctly(gold(answers=(), kind="unanswerable"), pred("x", True)) is None


def passages(*specs: tuple[str, str]) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"chunk_id": f"c{i}", "article_id": a, "text": t} for i, (a, t) in enumerate(specs)
    )


def test_retrieval_metrics() -> None:
    found_second = pred(
        "x", passages=passages(("b.txt", "Zelenskyy spoke."), ("a.txt", "Lloyd Austin spoke."))
    )
    missed = pred("x", passages=passages(("b.txt", "Zelenskyy spoke."), ("c.txt", "Nobody.")))
    assert m.source_hit(gold(), found_second) is True
    assert m.reciprocal_rank(gold(), found_second) == 0.5
    assert m.answer_in_context(gold(), found_second) is True
    assert m.source_hit(gold(), missed) is False
    assert m.reciprocal_rank(gold(), missed) == 0.0
    assert m.answer_in_context(gold(), missed) is False


def test_duplicate_passages_are_detected_by_id_or_text() -> None:
    distinct = passages(("a.txt", "One thing."), ("a.txt", "Another thing."))
    same_text = passages(("a.txt", "One thing."), ("b.txt", "One  thing!"))
    same_id = ({"chunk_id": "x", "text": "One."}, {"chunk_id": "x", "text": "Two."})
    assert m.duplicate(pred("x", passages=distinct)) is False
    assert m.duplicate(pred("x", passages=same_text)) is True
    assert m.duplicate(pred("x", passages=same_id)) is True


def test_score_and_summary_skip_metrics_that_do_not_apply() -> None:
    cases = [
        (gold(), pred("Austin [1].", citations=(SECOND_CITE,))),
        (gold(), pred("Zelenskyy [1].", citations=(SECOND_CITE,))),
        (gold((), "unanswerable"), pred("No idea.", True)),
    ]
    rows = [{**m.score(g, p, ARTICLES), "correct": m.correct(g, p)} for g, p in cases]
    summary = m.summarize(rows, [100.0, 300.0, 500.0])
    assert summary["n"] == 3
    assert summary["correct"] == pytest.approx(2 / 3)
    assert summary["accuracy"] == pytest.approx(2 / 3)  # the abstention scores 1
    assert summary["exact_match"] == 0.5  # only the two answerable items count
    assert summary["abstention"] == 1.0 and summary["false_abstention"] == 0.0
    assert summary["citation_validity"] == 1.0  # the abstention has nothing to check
    assert summary["citation_support"] == 1.0  # only the correct answer is checked
    assert summary["latency_p50_ms"] == 300.0
    assert summary["conflict_flagged"] is None
    assert set(m.METRICS) - {"correct"} == set(rows[0]) - {"correct"}


def test_percentile() -> None:
    assert m.percentile([], 50) is None
    assert m.percentile([5.0], 95) == 5.0
    assert m.percentile([float(i) for i in range(1, 101)], 95) == pytest.approx(95.05)


def test_from_answer_reads_the_public_answer_dict() -> None:
    answer = {
        "answer": "Austin [1].",
        "abstained": False,
        "conflict": True,
        "citations": [SECOND_CITE],
        "trace": {"query": "q", "passages": [{"chunk_id": "c", "article_id": "a.txt"}]},
    }
    p = Prediction.from_answer(answer)
    assert (p.answer, p.abstained, p.conflict) == ("Austin [1].", False, True)
    assert p.citations == (SECOND_CITE,)
    assert p.passages[0]["article_id"] == "a.txt"
