"""`qa eval`: score an answerer against a gold set, write a report, enforce bars."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

# --flag -> help; the flags map to eval.harness.BARS (kept here so `qa --help` imports nothing).
_BAR_HELP = {
    "min_accuracy": "exit 1 if overall accuracy is below X",
    "min_answered_correctly": "exit 1 if the share of answerable questions answered correctly "
    "with a supporting citation is below X",
    "min_abstention": "exit 1 if the share of unanswerable questions abstained is below X",
    "max_false_abstention": "exit 1 if the share of answerable questions abstained is above X",
    "min_citation_validity": "exit 1 if the share of validly cited answers is below X",
}


def register(sub: Any) -> None:
    p = sub.add_parser(
        "eval",
        help="score answers against a gold set (accuracy, citations, retrieval, latency)",
        description="Ask every gold question through the Assistant, score the answers and write "
        "DIR/results.json, DIR/report.md and PNG charts. See eval/README.md.",
    )
    p.add_argument("--gold", type=Path, default=None, help="gold JSONL (default: packaged set)")
    p.add_argument(
        "--squad",
        type=Path,
        default=None,
        metavar="FILE",
        help="a SQuAD 2.0 JSON file instead: its articles are indexed alone in a scratch "
        "folder under --out and its replies' short answers scored with SQuAD's EM/F1",
    )
    p.add_argument("--limit", type=int, default=None, help="--squad: only the first N questions")
    p.add_argument("--answerer", default=None, help="extractive (default), llamacpp or openai")
    p.add_argument("--k", type=int, default=None, help="passages retrieved (default QA_K=5)")
    p.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="careful mode: the verifier checks each answer's cited passage (default QA_VERIFY; "
        "with no --answerer, extractive); gold sets only",
    )
    p.add_argument("--out", type=Path, default=Path("eval-out"), help="output folder")
    p.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="PREVIOUS.json",
        help="a results.json from an earlier run: print deltas and flipped items",
    )
    for flag, text in _BAR_HELP.items():
        p.add_argument(
            "--" + flag.replace("_", "-"), type=float, default=None, metavar="X", help=text
        )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from eval import harness
    from index.settings import Settings
    from qa.assistant import Assistant

    if args.squad is not None:
        return run_squad(args)
    if args.gold is None:
        from importlib.resources import as_file, files

        with as_file(files("eval") / "gold.jsonl") as path:
            items = harness.load_gold(path)
        gold_name = "eval/gold.jsonl"
    else:
        items = harness.load_gold(args.gold)
        gold_name = str(args.gold)
    # Read the previous run before spending minutes on this one.
    previous = harness.load_results(args.compare) if args.compare else None
    results = harness.evaluate(
        Assistant(Settings()),
        items,
        answerer=args.answerer,
        k=args.k,
        gold_name=gold_name,
        progress=not args.no_progress,
        verify=args.verify,
    )
    paths = harness.write(results, args.out, previous)
    print(harness.summary_text(results))
    print("wrote " + ", ".join(str(p) for p in paths))
    if previous is not None:
        print(harness.compare(results, previous))
    failures = harness.check_bars(results["summary"], {f: getattr(args, f) for f in _BAR_HELP})
    for failure in failures:
        print(f"qa eval: bar not met: {failure}", file=sys.stderr)
    return 1 if failures else 0


def run_squad(args: argparse.Namespace) -> int:
    import tempfile

    from eval.squad_harness import evaluate_squad, write
    from index.errors import BadInputError
    from index.settings import Settings

    if not args.squad.is_file():
        raise BadInputError(f"No such file: {args.squad}")
    if args.verify:
        raise BadInputError(
            "--verify scores gold sets; for careful mode on SQuAD run "
            "`python -m eval.careful_sample` (see eval/README.md)."
        )
    with tempfile.TemporaryDirectory(prefix="qa-eval-squad-") as tmp:
        results = evaluate_squad(
            Settings(), args.squad, Path(tmp), answerer=args.answerer, k=args.k, limit=args.limit
        )
    paths = write(results, args.out)
    s = results["summary"]
    print(
        f"{s['answerer']} on {args.squad.name}: HasAns F1 {s['HasAns_f1']}, NoAns "
        f"{s['NoAns_exact']}, overall F1 {s['f1']} (EM {s['exact']}), abstained "
        f"{s['abstention_rate']}"
    )
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
