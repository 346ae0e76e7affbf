"""Sweep the extractive answerer's abstention threshold over a gold set.

    python -m eval.calibrate [--gold PATH] [--thresholds 0.3,0.4,...]

Prints, per threshold, how many answerable questions were answered wrongly, how many were
abstained on (false abstentions) and how many unanswerable ones were abstained on — the
trade-off behind the default `QA_MIN_SCORE`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eval.harness import evaluate, load_gold
from index.settings import Settings
from qa.assistant import Assistant

DEFAULT_GOLD = Path(__file__).with_name("gold.jsonl")


def sweep(gold: Path, thresholds: list[float]) -> list[dict[str, float]]:
    items = load_gold(gold)
    rows = []
    for threshold in thresholds:
        assistant = Assistant(Settings(min_score=threshold))
        results = evaluate(assistant, items, answerer="extractive", progress=False)
        answerable = [r for r in results["items"] if r["kind"] != "unanswerable"]
        unanswerable = [r for r in results["items"] if r["kind"] == "unanswerable"]
        rows.append(
            {
                "min_score": threshold,
                "answerable_correct": sum(r["correct"] for r in answerable) / len(answerable),
                "wrong_answers": sum(
                    1 for r in answerable if not r["correct"] and not r["abstained"]
                ),
                "false_abstentions": sum(1 for r in answerable if r["abstained"]),
                "unanswerable_abstained": sum(1 for r in unanswerable if r["abstained"])
                / max(len(unanswerable), 1),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--thresholds", default="0.30,0.40,0.45,0.50,0.55,0.60,0.70")
    args = parser.parse_args()
    rows = sweep(args.gold, [float(t) for t in args.thresholds.split(",")])
    print(
        "| min_score | answerable correct | wrong answers | false abstentions"
        " | unanswerable abstained |"
    )
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['min_score']:.2f} | {r['answerable_correct']:.3f} | {r['wrong_answers']} "
            f"| {r['false_abstentions']} | {r['unanswerable_abstained']:.3f} |"
        )


if __name__ == "__main__":
    main()
