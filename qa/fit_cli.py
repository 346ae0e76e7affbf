"""`qa fit`: the command line of `qa.fit` (this module imports only argparse until run)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "fit",
        help="fit the extractive answerer on labelled questions (SQuAD 2.0 or gold JSONL)",
        description="Index every --squad file alone in a scratch folder, read every question "
        "as the extractive answerer does, fit its span and abstention models with folds grouped "
        "by article, and write the model file (JSON) with the data's SHA-256, the seed, the "
        "features and the cross-validated figures; OUT.report/ gets report.md, results.json "
        "and the precision/coverage curve. --gold files are asked against QA_CORPUS: their "
        "factoid and unanswerable items join the fit, their list and conflict items choose "
        "the margin within which further answers are listed. The question types better "
        "answered by a whole sentence (on the fitting folds) are recorded too. With --careful "
        "RESULTS it fits careful mode's cut file instead, from the rows `python -m "
        "eval.careful_sample` wrote (see eval/README.md).",
    )
    p.add_argument("--squad", type=Path, nargs="*", default=[], help="SQuAD 2.0 JSON files")
    p.add_argument("--gold", type=Path, nargs="*", default=[], help="gold-schema JSONL files")
    p.add_argument("--out", type=Path, default=Path("model.json"), help="model file to write")
    p.add_argument(
        "--careful",
        type=Path,
        default=None,
        metavar="RESULTS",
        help="instead, fit careful mode's decision (write it with --out qa/careful.json) on "
        "the checked rows of `python -m eval.careful_sample` (its results.json): the cut on "
        "the verifier's p_no, and, when each beats it out of fold beyond the sample's noise, "
        "the fast answerer's gate probability beside it, the cut on the check of the model's "
        "own reading of the passage, and the next-best candidates to try",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--max-false-abstention",
        type=float,
        default=0.15,
        help="the abstention threshold maximises overall F1 among those that refuse at most "
        "this share of the answerable fitting questions (default 0.15)",
    )
    p.add_argument(
        "--absent-weight",
        type=float,
        default=0.0,
        help="every answerable question is also read without the sentences that answer it "
        "(as a question about something the articles do not say) and the share of those "
        "abstained on is reported; this weight makes them join the abstention model's fit "
        "(default 0: measured, not fitted on)",
    )
    p.set_defaults(func=cmd_fit)


def cmd_fit(args: argparse.Namespace) -> int:
    from index.errors import BadInputError
    from index.settings import Settings
    from qa.fit import fit

    if args.careful is not None:
        if args.squad or args.gold:
            raise BadInputError("--careful fits careful mode alone: drop --squad and --gold.")
        return fit_careful(args.careful, args.out)
    if not args.squad and not args.gold:
        raise BadInputError("Give at least one --squad or --gold file to fit on.")
    for path in [*args.squad, *args.gold]:
        if not Path(path).is_file():
            raise BadInputError(f"No such file: {path}")
    if not args.absent_weight >= 0:
        raise BadInputError("--absent-weight is a weight: give 0 or more (0: measure only).")
    model = fit(
        Settings(),
        args.squad,
        args.gold,
        seed=args.seed,
        max_false_abstention=args.max_false_abstention,
        absent_weight=args.absent_weight,
    )
    data = model.to_json()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    cv = data["cross_validated"]
    write_report(args.out.with_suffix(".report"), cv)
    o = cv["overall"]
    absent = cv["absent"]["abstained"]
    print(
        f"qa fit: wrote {args.out}. Leave-one-article-out: HasAns F1 {o['HasAns_f1']:.3f}, "
        f"NoAns {o['NoAns']:.3f}, overall F1 {o['f1']:.3f}, abstained {o['abstention_rate']:.3f}"
        + ("" if absent is None else f"; abstained on {absent:.3f} read without their answer")
    )
    return 0


def fit_careful(results_path: Path, out: Path) -> int:
    from index.errors import BadInputError
    from qa.careful import Cut
    from qa.careful_fit import CAREFUL, JOINT, READING, REPLACING, analyse, cut_file

    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
        results = {"meta": results["meta"], "rows": results["rows"]}
        analysis = analyse(results)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInputError(
            f"Cannot fit careful mode on {results_path} ({exc}): give the results.json that "
            "`python -m eval.careful_sample` writes."
        ) from exc
    data = Cut.from_json(cut_file(results, analysis)).to_json()  # validated as it is read
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    v, o = analysis["variants"], data["out_of_fold"]
    extra = [
        f"{name} {'used' if analysis[key]['used'] else 'not used'} (out-of-fold gain "
        f"{analysis[key]['gain']:+.4f}, 95% {analysis[key]['gain_95'][0]:+.4f} to "
        f"{analysis[key]['gain_95'][1]:+.4f})"
        for name, key in ((JOINT, "joint"), (REPLACING, "replacing"), (READING, "reading"))
        if v.get(name) is not None
    ]
    print(
        f"qa fit: wrote {out}: cut {data['cut']} on p_no (AUC {data['auc']}); "
        + "; ".join(extra)
        + f". Leave-one-article-out: HasAns F1 {o['HasAns_f1']:.3f}, NoAns {o['NoAns']:.3f}, "
        f"overall F1 {o['f1']:.3f} (p_no alone: {v[CAREFUL]['f1']:.3f})"
    )
    return 0


def write_report(folder: Path, cv: dict[str, Any]) -> None:
    """report.md (overall and per-article figures), results.json and curve.png."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(cv, indent=1) + "\n", encoding="utf-8")
    lines = [
        "# Extractive answerer: leave-one-article-out figures",
        "",
        "Each article's questions are answered by models fitted on the other articles; the "
        "abstention threshold of each fold is chosen on its fitting articles alone. F1 and EM "
        "use SQuAD 2.0's normalisation; an abstention scores 1 on an unanswerable question and "
        "0 on an answerable one.",
        "",
        "| articles | questions | HasAns F1 | NoAns | overall F1 | abstained | false abstention |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    def row(name: str, f: dict[str, Any]) -> str:
        return (
            f"| {name} | {f['questions']} | {fmt(f['HasAns_f1'])} | {fmt(f['NoAns'])} | "
            f"{fmt(f['f1'])} | {fmt(f['abstention_rate'])} | {fmt(f['false_abstention'])} |"
        )

    for name, f in cv["per_article"].items():
        lines.append(row(name, f))
    for name, f in cv.get("per_source", {}).items():
        lines.append(row(f"all of {name}", f))
    lines.append(row("**all**", cv["overall"]))
    lines.append(row("all, never abstaining", cv["never_abstaining"]))
    absent = cv.get("absent") or {}
    if absent.get("questions"):
        lines += [
            "",
            f"The same answerable questions read without every sentence that holds their answer "
            f"(the passages match the question's words, the fact asked for is gone: a question "
            f"about something the articles do not say), {absent['questions']} of them, also from "
            f"folds not fitted on: abstained on **{absent['abstained']:.3f}** ("
            + "; ".join(f"{k}: {v:.3f}" for k, v in absent["per_source"].items())
            + ").",
        ]
    lines += ["", "![answered precision against coverage](curve.png)", ""]
    (folder / "report.md").write_text("\n".join(lines), encoding="utf-8")
    _curve_png(folder / "curve.png", cv["curve"], cv["overall"])


def _curve_png(path: Path, curve: list[dict[str, float]], chosen: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([c["coverage"] for c in curve], [c["precision"] for c in curve])
    coverage = 1 - chosen["abstention_rate"]
    answered = [c for c in curve if c["coverage"] <= coverage]
    if answered:
        ax.plot([coverage], [answered[-1]["precision"]], "o", label="thresholds chosen per fold")
        ax.legend()
    ax.set_xlabel("coverage (share of questions answered)")
    ax.set_ylabel("answered precision (mean F1 of answers given)")
    ax.set_title("Extractive answerer, folds not fitted on")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
