"""`make test` runs the harness on the packaged gold set with the default answerer and fails
under the agreed minimums: the product's targets (at least 90% of answerable questions
answered correctly with a supporting citation, at least 80% of unanswerable ones abstained,
at most 5% of answerable ones abstained wrongly, every citation valid) and a regression
floor on overall accuracy below the committed baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.harness import check_bars, evaluate, load_gold
from index.settings import Settings
from qa.assistant import Assistant

pytestmark = pytest.mark.slow

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold.jsonl"

BARS = {
    "min_answered_correctly": 0.90,
    "min_accuracy": 0.80,
    "min_abstention": 0.80,
    "max_false_abstention": 0.05,
    "min_citation_validity": 1.0,
}


def test_default_answerer_meets_the_agreed_minimums(seed_settings: Settings) -> None:
    results = evaluate(Assistant(seed_settings), load_gold(GOLD), progress=False)
    summary = results["summary"]
    assert summary["answerer"] == "extractive"
    assert summary["duplicate_rate"] == 0
    assert check_bars(summary, BARS) == [], summary
