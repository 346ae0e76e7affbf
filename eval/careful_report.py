"""The report of `python -m eval.careful_sample`: results.json, report.md and curve.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qa.careful_fit import CAREFUL, FAST, GATED, JOINT, LEAVING, READING, REPLACING


def write(results: dict[str, Any], analysis: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.json", out / "report.md", out / "curve.png"]
    # Ids and scores only: the SQuAD text stays in ../shared (its README asks that).
    saved = {"meta": results["meta"], "analysis": analysis, "rows": results["rows"]}
    paths[0].write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(report(results["meta"], analysis), encoding="utf-8")
    _curve_png(paths[2], analysis)
    return paths


def report(meta: dict[str, Any], a: dict[str, Any]) -> str:
    v, s = a["variants"], a["seconds"]

    def row(label: str, name: str, seconds: dict[str, Any]) -> str:
        f = v[name]
        return (
            f"| {label} | {f['HasAns_f1']:.3f} | {f['NoAns']:.3f} | {f['f1']:.3f} | "
            f"{f['abstention_rate']:.3f} | {f['false_abstention']:.3f} | "
            f"{f['answered_precision']:.3f} | {seconds['p50']:.2f} / {seconds['p95']:.2f} |"
        )

    cuts = v[CAREFUL]["cut_per_fold"].values()
    other = v[GATED]
    lines = [
        "# Careful mode against the fast answer, on a sample of SQuAD 2.0",
        "",
        f"{meta['n']} questions of `{meta['gold']}` (seed {meta['seed']}, half unanswerable, "
        "from all its articles, retrieval over them all indexed together; ids checksum "
        f"`{meta['ids_sha256'][:16]}…`), {meta['created']}. The fast answer is the extractive "
        f"answerer as packaged; careful mode proposes its candidate (the answer it gives, or the "
        "one its gate withheld) with the passages it cites to "
        f"{meta['verifier']} ({meta['model']}, {meta['threads']} threads): above the cut on p_no "
        "it abstains, otherwise it answers with that candidate. "
        "Made by `python -m eval.careful_sample` (eval/careful_sample.py).",
        "",
        "Every careful figure is **out of fold**: each article's questions are decided by a cut "
        "fitted on the other articles (a logistic regression of unanswerable on p_no over the "
        f"questions with a candidate, cut at 0.5; per fold {min(cuts):.3f}-"
        f"{max(cuts):.3f}). Scores are SQuAD 2.0's on the reply's short answer; an abstention "
        "scores 1 on an unanswerable question, 0 on an answerable one. Seconds are per question, "
        "retrieval included.",
        "",
        "| | HasAns F1 | NoAns | overall F1 | abstained | false abstention | answered "
        "precision | seconds p50 / p95 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        row("fast (extractive as packaged)", FAST, s[FAST]),
        row("**careful** (fast, then the check)", CAREFUL, s[CAREFUL]),
        *(
            []
            if v.get(REPLACING) is None
            else [
                row("careful, then the next-best candidates", REPLACING, a["replacing"]["seconds"])
            ]
        ),
        *(
            []
            if v.get(READING) is None
            else [
                row(
                    "careful, then the model's reading, then the next-best candidates",
                    READING,
                    a["reading"]["seconds"],
                )
            ]
        ),
        *(
            []
            if v.get(JOINT) is None
            else [row("careful, cut on p_no and the gate's probability", JOINT, s[CAREFUL])]
        ),
        *([] if v.get(LEAVING) is None else [row(LEAVING, LEAVING, a["withheld"]["seconds"])]),
        "",
        f"The check ran on the {a['checked']} questions with a candidate answer; on them the AUC "
        f"of p_no for unanswerable is {a['auc_checked']:.3f} (bootstrap 95%: "
        f"{a['auc_checked_95'][0]:.3f}-{a['auc_checked_95'][1]:.3f}). Out of fold it changed "
        f"{a['changed_out_of_fold']} fast answers (an answer into an abstention, or the other "
        f"way). The check alone took {s['check']['p50']:.2f} / {s['check']['p95']:.2f} s "
        f"(p50 / p95). The cut fitted on all {a['checked']} is **{a['cut']}**"
        + (
            "."
            if (a.get("withheld") or {"used": True})["used"]
            else f" (qa/careful.json holds {a['withheld']['fit']['cut']:.4f}, fitted on the "
            "questions the gate answered: see the last paragraph)."
        ),
        "",
        "The alternative, checking only the answers the fast answerer's own gate lets through "
        "(its cut fitted the same way on those), scores HasAns F1 "
        f"{other['HasAns_f1']:.3f}, NoAns {other['NoAns']:.3f}, overall F1 {other['f1']:.3f} "
        f"(AUC {a['auc_gated']:.3f}) out of fold. By overall F1 the better of the two is: "
        f"{a['chosen']}"
        + (
            "."
            if a["chosen"] == CAREFUL
            else " (careful mode checks every candidate; switching back needs qa/careful.py "
            "changed and the cut refitted)."
        ),
        "",
        *_replacing_lines(a),
        *_reading_lines(a),
        *_joint_lines(a),
        *_withheld_lines(a),
        "![answered precision against coverage](curve.png)",
        "",
    ]
    return "\n".join(lines)


def _replacing_lines(a: dict[str, Any]) -> list[str]:
    r = a.get("replacing")
    if r is None or a["variants"].get(REPLACING) is None:
        return []
    fit = r["fit"]
    reading = a.get("reading") or {}
    not_used = (
        "**not used on its own** (its interval's lower end is not above 0); with the reading "
        "(below), which is used, the fit chooses the next-best candidates again, after the "
        "reading, and those are what qa/careful.json holds."
        if reading.get("used")
        else "**not used** (qa/careful.json sets 0 candidates): it is used only when the "
        "interval's lower end is above 0, since each candidate tried is one more call to "
        "the model."
    )
    return [
        "When the check turns the first candidate down, careful mode can check the fast "
        f"answerer's next-best candidates in turn (up to {fit['alternatives']}) and give the "
        f"first whose p_no is at most {fit['alternative_cut']:.4f}: both fitted for overall F1 on "
        "the other articles, out of fold as above. Out of fold it replaced "
        f"{r['replaced_out_of_fold']} abstentions with an answer ({r['replaced_right']} right "
        f"by F1 >= 0.5, {r['replaced_unanswerable']} on unanswerable questions), at the cost of "
        f"{r['extra_checks']} more checks. Its out-of-fold gain in overall F1 is "
        f"{r['gain']:+.4f} (paired bootstrap 95%: {r['gain_95'][0]:+.4f} to "
        f"{r['gain_95'][1]:+.4f}). It is "
        + (
            "**used** (qa/careful.json): the gain is above the sample's noise."
            if r["used"]
            else not_used
        ),
        "",
    ]


def _reading_lines(a: dict[str, Any]) -> list[str]:
    r = a.get("reading")
    if r is None or a["variants"].get(READING) is None:
        return []
    cut = r["fit"]["read_cut"]
    return [
        "After the first check, whatever it found, careful mode can ask the model to read the "
        "passages it was shown and copy the answer's span itself (qa/prompts/read.txt); that "
        "span, when found in them word for word and other than the candidate, is checked like "
        "a candidate and given first (before any next-best candidate) when its p_no is at most "
        "a cut fitted for overall F1 "
        + (
            "(on all rows: none beats not reading)"
            if cut is None
            else f"(on all rows: {cut:.4f}; then up to {r['fit']['alternatives']} next-best "
            f"candidates at {r['fit']['alternative_cut']:.4f})"
        )
        + f". The model copied a span found in the passages for {r['found']} of the "
        f"{r['asked']} questions with a candidate. Out of fold it read {r['read_out_of_fold']} "
        f"passages and its span was given {r['given_out_of_fold']} times ({r['given_right']} "
        f"right by F1 >= 0.5, {r['given_unanswerable']} on unanswerable questions). Its "
        f"out-of-fold gain in overall F1 over the next-best candidates alone is {r['gain']:+.4f} "
        f"(paired bootstrap 95%: {r['gain_95'][0]:+.4f} to {r['gain_95'][1]:+.4f}). It is "
        + (
            "**used** (qa/careful.json): the gain is above the sample's noise."
            if r["used"]
            else "**not used** (qa/careful.json sets `read` false): it is used only when the "
            "interval's lower end is above 0, since a reading is two more calls to the model."
        ),
        "",
    ]


def _joint_lines(a: dict[str, Any]) -> list[str]:
    j = a.get("joint")
    if j is None or a["variants"].get(JOINT) is None:
        return []
    return [
        "The fast answerer's gate probability can join p_no in the decision: a logistic "
        "regression on both, fitted out of fold as above (on all rows: cut "
        f"{j['fit']['cut']:.4f} {j['fit']['slope']:+.4f} x the gate's probability). Its "
        f"out-of-fold gain in overall F1 over p_no alone is {j['gain']:+.4f} (paired bootstrap "
        f"95%: {j['gain_95'][0]:+.4f} to {j['gain_95'][1]:+.4f}). It is "
        + (
            "**used** (qa/careful.json): the gain is above the sample's noise."
            if j["used"]
            else "**not used**: it is used only when the interval's lower end is above 0."
        ),
        "",
    ]


def _withheld_lines(a: dict[str, Any]) -> list[str]:
    w = a.get("withheld")
    if w is None or a["variants"].get(LEAVING) is None:
        return []
    fit = w["fit"]
    return [
        "Behind what is used above, careful mode also checks the candidate the fast answerer's "
        f"gate withheld (on {w['withheld']} questions here) and gives it when borne out. Out "
        f"of fold it gave {w['given_out_of_fold']} of them ({w['given_right']} right by F1 >= "
        f"0.5, {w['given_unanswerable']} on unanswerable questions). Against leaving the "
        "gate's abstentions as they are (every cut then fitted on the questions the gate "
        f"answered: on all rows {fit['cut']:.4f}), its out-of-fold gain in overall F1 is "
        f"{w['gain']:+.4f} (paired bootstrap 95%: {w['gain_95'][0]:+.4f} to "
        f"{w['gain_95'][1]:+.4f}). It is "
        + (
            "**used** (qa/careful.json `withheld` true): the gain is above the sample's noise."
            if w["used"]
            else "**not used** (qa/careful.json `withheld` false, with the cuts fitted that "
            "way): it is used only when the interval's lower end is above 0."
        ),
        "",
    ]


def _curve_png(path: Path, a: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    v = a["variants"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, label in ((CAREFUL, "careful: every candidate checked"), (GATED, GATED)):
        points = a["curves"][name]
        ax.plot([c["coverage"] for c in points], [c["precision"] for c in points], label=label)
    for name, marker, label in (
        (FAST, "s", "fast (extractive as packaged)"),
        (CAREFUL, "o", "careful, cut out of fold"),
    ):
        ax.plot([v[name]["coverage"]], [v[name]["answered_precision"]], marker, label=label)
    ax.set_xlabel("coverage (share of questions answered)")
    ax.set_ylabel("answered precision (mean F1 of answers given)")
    ax.set_title("Careful mode on the SQuAD 2.0 sample: every cut on p_no")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
