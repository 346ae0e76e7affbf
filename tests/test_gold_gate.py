"""`make test` runs the harness on the packaged gold set with the default answerer.

`eval/gold.jsonl` is part of what `qa fit` fits the default answerer on, so its figures here
are not a measure of quality (those are the folds' figures in `eval/baseline/extractive-fit/`):
the gate is a regression check. Every citation must be valid and no passage duplicated, and
the headline figures may not fall below the committed baseline (`eval/baseline/extractive/`,
written by `make eval` with the packaged model) by more than one question's worth, the
room a different machine's arithmetic may flip one question near the abstention threshold.

The product's targets (answered correctly >= 0.90, abstention >= 0.85, false abstention
<= 0.05) are not met by the fitted answerer; the README says by how much.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.harness import check_bars, evaluate, load_gold
from index.settings import Settings
from qa.assistant import Assistant

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "eval" / "gold.jsonl"
BASELINE = ROOT / "eval" / "baseline" / "extractive" / "results.json"


def _bars(baseline: dict[str, float], n_answerable: int, n_unanswerable: int) -> dict[str, float]:
    """Floors (and a ceiling) one question below the baseline's figures."""
    one, one_un = 1 / n_answerable, 1 / n_unanswerable
    return {
        "min_answered_correctly": baseline["answered_correctly"] - one,
        "min_abstention": baseline["abstention"] - one_un,
        "max_false_abstention": baseline["false_abstention"] + one,
        "min_citation_validity": 1.0,
    }


def test_default_answerer_holds_its_committed_gold_figures(seed_settings: Settings) -> None:
    items = load_gold(GOLD)
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))["summary"]
    assert baseline["n"] == len(items), "eval/baseline/extractive is stale: run `make eval`"
    results = evaluate(Assistant(seed_settings), items, progress=False)
    summary = results["summary"]
    assert summary["answerer"] == "extractive" == baseline["answerer"]
    assert summary["duplicate_rate"] == 0
    unanswerable = sum(1 for item in items if item.kind == "unanswerable")
    bars = _bars(baseline, len(items) - unanswerable, unanswerable)
    assert check_bars(summary, bars) == [], summary
