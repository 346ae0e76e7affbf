"""How well the verifier (qa/verify.py) tells answerable questions from unanswerable ones, on
a seeded sample of a SQuAD 2.0 gold set with retrieval over all its articles indexed together.

    python -m eval.verify_sample --gold ../shared/squad2/gold.jsonl \
        --corpus ../shared/squad2/corpus --n 200 --out eval/baseline/verify-sample

Each question is answered by the extractive answerer as packaged through the Assistant
(`fast_*` columns: what a user gets today); where its gate abstains, the answer it withheld
is taken, so that every question commits to its best span and cites that span's passage
(`lead`, `f1`). The verifier is asked about that span and its cited passage. No threshold
is chosen here: the report gives the AUC of `p_no` for unanswerable questions and, for a
decision, a logistic regression on `p_no` fitted in folds grouped by article, with what it
would do on the articles it was not fitted on.
The verifier's backend comes from the QA_* settings (QA_VERIFIER, QA_LLAMACPP_MODEL, ...).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.metrics import percentile
from eval.squad import best_scores, lead, summarize
from index.settings import Settings
from qa.careful_fit import auc, bootstrap_auc

SHARED = ("question", "answers")  # row fields copied from the gold set, not written out


def sample(items: Sequence[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """n questions, half unanswerable, spread evenly over the articles (round robin over
    each article's seeded shuffle)."""
    rng = random.Random(seed)
    chosen: list[dict[str, Any]] = []
    for answerable, want in ((True, n - n // 2), (False, n // 2)):
        by_article: dict[str, list[dict[str, Any]]] = {}
        for it in items:
            if bool(it["answers"]) == answerable:
                by_article.setdefault(it["article"], []).append(it)
        queues = [rng.sample(qs, len(qs)) for _, qs in sorted(by_article.items())]
        taken = 0
        while taken < want and any(queues):
            for queue in queues:
                if queue and taken < want:
                    chosen.append(queue.pop())
                    taken += 1
    return chosen


def grouped_fit(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Logistic regression of unanswerable on p_no, one fold per article: every question is
    decided by a fit that never saw its article. Out-of-fold recall and SQuAD scores of
    "abstain when the fit says unanswerable, else the committed answer"."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[r["p_no"]] for r in rows])
    y = np.array([not r["answerable"] for r in rows])
    articles = sorted({r["article"] for r in rows})
    decided: list[dict[str, Any]] = [{} for _ in rows]
    thresholds = {}
    for article in articles:
        test = np.array([r["article"] == article for r in rows])
        fit = LogisticRegression().fit(x[~test], y[~test])
        w, b = float(fit.coef_[0][0]), float(fit.intercept_[0])
        # P(unanswerable) = 0.5 where w * p_no + b = 0.
        thresholds[article] = round(-b / w, 4) if w else None
        for i in np.flatnonzero(test).tolist():
            abstain = bool(fit.predict(x[i : i + 1])[0])
            r = rows[i]
            em, f1 = best_scores(r["answers"], "") if abstain else (float(r["em"]), float(r["f1"]))
            decided[i] = {"answers": r["answers"], "abstained": abstain, "em": em, "f1": f1}
    whole = LogisticRegression().fit(x, y)
    w, b = float(whole.coef_[0][0]), float(whole.intercept_[0])
    has = [d for d in decided if d["answers"]]
    no = [d for d in decided if not d["answers"]]
    return {
        "folds": "one per article (leave one article out)",
        "threshold_per_fold": thresholds,
        "threshold_all_rows": round(-b / w, 4) if w else None,
        "recall_answerable": round(sum(not d["abstained"] for d in has) / len(has), 4),
        "recall_unanswerable": round(sum(d["abstained"] for d in no) / len(no), 4),
        "squad_out_of_fold": summarize(decided),
    }


def prepare(
    settings: Settings, gold: Path, corpus: Path, workdir: Path, n: int, seed: int, log: Any
) -> tuple[list[dict[str, Any]], Settings]:
    """The seeded sample and the scratch settings with its articles indexed."""
    from index.build import build_index

    items = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line]
    questions = sample(items, n, seed)
    scratch = settings.model_copy(update={"data_dir": workdir / "data", "corpus": [corpus]})
    log(build_index(scratch).summary())
    return questions, scratch


def evaluate(
    settings: Settings,
    gold: Path,
    corpus: Path,
    workdir: Path,
    *,
    n: int,
    seed: int,
    log: Any = print,
) -> dict[str, Any]:
    from qa.assistant import Assistant
    from qa.verify import load_verifier

    questions, scratch = prepare(settings, gold, corpus, workdir, n, seed, log)
    fast = Assistant(scratch)
    t = time.perf_counter()
    verifier = load_verifier(scratch)  # the probe: a backend without logprobs stops here
    log(f"verifier ready on {verifier.where} in {time.perf_counter() - t:.1f} s")
    rows = []
    for done, q in enumerate(questions, 1):
        answers = list(q["answers"])
        quick = fast.ask(q["question"], answerer="extractive")
        # The answer committed to its best span: the one the gate withheld, if it abstained.
        answer = (quick.unabstained if quick.abstained else None) or quick
        passage, source = cited_passage(answer)
        short = lead(answer.text, answer.abstained)
        verdict = verifier.check(q["question"], passage, short)
        fast_short = lead(quick.text, quick.abstained)
        em, f1 = best_scores(answers, short)
        fast_em, fast_f1 = best_scores(answers, fast_short)
        rows.append(
            {
                "id": q["id"],
                "article": q["article"],
                "question": q["question"],
                "answers": answers,
                "answerable": bool(answers),
                "p_no": round(verdict.p_no, 6),
                "mass": round(verdict.mass, 6),
                "seconds": round(verdict.seconds, 3),
                "passage": source,
                "lead": short,
                "em": em,
                "f1": f1,
                "fast_abstained": quick.abstained,
                "fast_lead": fast_short,
                "fast_em": fast_em,
                "fast_f1": fast_f1,
            }
        )
        log(
            f"[{done}/{len(questions)}] p_no {verdict.p_no:.3f} "
            f"{'answerable' if answers else 'unanswerable'} f1 {f1:.2f} {verdict.seconds:.1f} s"
        )
    return {"summary": summary(rows, settings, gold, n, seed), "rows": rows}


def cited_passage(answer: Any) -> tuple[str, str]:
    """The retrieved passage holding the answer's first citation; the top passage when the
    answerer found no span at all (then it cites nothing)."""
    passages = answer.trace.passages
    if answer.citations:
        c = answer.citations[0]
        for p in passages:
            if p["article_id"] == c.article_id and p["start"] <= c.start < p["end"]:
                return str(p["text"]), "cited"
    return (str(passages[0]["text"]), "top") if passages else ("", "none")


def summary(
    rows: Sequence[dict[str, Any]], settings: Settings, gold: Path, n: int, seed: int
) -> dict[str, Any]:
    labels = [not r["answerable"] for r in rows]
    scores = [float(r["p_no"]) for r in rows]
    seconds = [float(r["seconds"]) for r in rows]
    fast = [
        {**r, "em": r["fast_em"], "f1": r["fast_f1"], "abstained": r["fast_abstained"]}
        for r in rows
    ]
    committed = [{**r, "abstained": not r["lead"]} for r in rows]
    return {
        "gold": str(gold),
        "n": len(rows),
        "requested": n,
        "seed": seed,
        "answerable": sum(r["answerable"] for r in rows),
        "articles": {
            a: sum(r["article"] == a for r in rows) for a in sorted({r["article"] for r in rows})
        },
        "verifier": settings.verifier,
        "model": str(settings.llamacpp_model.name if settings.llamacpp_model else None)
        if settings.verifier == "llamacpp"
        else settings.openai_model,
        "threads": settings.llamacpp_threads,
        "reuse_prompt": settings.llamacpp_reuse_prompt,
        "auc_p_no_unanswerable": round(auc(labels, scores), 4),
        "auc_95": bootstrap_auc(labels, scores, seed),
        "seconds_p50": round(percentile(seconds, 50) or 0.0, 3),
        "seconds_p95": round(percentile(seconds, 95) or 0.0, 3),
        "passage_cited": sum(r["passage"] == "cited" for r in rows),
        "mass_p50": round(percentile([float(r["mass"]) for r in rows], 50) or 0.0, 4),
        "said_no": sum(float(r["p_no"]) > 0.5 for r in rows),
        "fast": summarize(fast),
        "committed": summarize(committed),
        "grouped_fit": grouped_fit(rows),
    }


def write(results: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.json", out / "report.md"]
    # The SQuAD text stays in ../shared (its README asks that it not be copied): rows keep
    # the question id, the article and what was measured.
    rows = [{k: v for k, v in r.items() if k not in SHARED} for r in results["rows"]]
    saved = {**results, "rows": rows}
    paths[0].write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")
    s, g = results["summary"], results["summary"]["grouped_fit"]
    oof = g["squad_out_of_fold"]

    def row(name: str, f: dict[str, Any]) -> str:
        return (
            f"| {name} | {f['HasAns_f1']:.3f} | {f['NoAns_exact']:.3f} | {f['f1']:.3f} | "
            f"{f['abstention_rate']:.3f} |"
        )

    lines = [
        "# The verifier on a sample of SQuAD 2.0",
        "",
        f"{s['n']} questions of `{Path(s['gold']).name}` ({s['answerable']} answerable, seed "
        f"{s['seed']}), from {len(s['articles'])} articles indexed together. The extractive "
        "answerer, its abstention threshold set to 0, cites a passage; the verifier "
        f"({s['verifier']}, {s['model']}, {s['threads']} threads) gives P(No) for it. "
        "Made by `python -m eval.verify_sample` (eval/verify_sample.py).",
        "",
        "| | value |",
        "| --- | --- |",
        f"| AUC of p_no for unanswerable | {s['auc_p_no_unanswerable']:.3f} "
        f"(bootstrap 95%: {s['auc_95'][0]:.3f}-{s['auc_95'][1]:.3f}) |",
        f"| verifier seconds p50 / p95 | {s['seconds_p50']:.2f} / {s['seconds_p95']:.2f} |",
        f"| p_no > 0.5 (the raw reply No) | {s['said_no']} of {s['n']} |",
        f"| passage the answer cites / top passage (no span found) | {s['passage_cited']} / "
        f"{s['n'] - s['passage_cited']} |",
        f"| P(Yes) + P(No) among the alternatives, median | {s['mass_p50']:.3f} |",
        "",
        "A logistic regression of unanswerable on p_no, fitted with one fold per article (each "
        "question decided by a fit that never saw its article): recall "
        f"{g['recall_answerable']:.3f} on answerable, {g['recall_unanswerable']:.3f} on "
        f"unanswerable; its cut on p_no, fitted on all rows, is {g['threshold_all_rows']} "
        f"(per fold {min(v for v in g['threshold_per_fold'].values()):.3f}-"
        f"{max(v for v in g['threshold_per_fold'].values()):.3f}). SQuAD 2.0 scores of the "
        "short answers:",
        "",
        "| | HasAns F1 | NoAns | overall F1 | abstained |",
        "| --- | --- | --- | --- | --- |",
        row("extractive, as packaged", s["fast"]),
        row("extractive, never abstaining", s["committed"]),
        row("never abstaining + verifier, out of fold", oof),
        "",
    ]
    paths[1].write_text("\n".join(lines), encoding="utf-8")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.verify_sample", description=__doc__)
    p.add_argument("--gold", type=Path, required=True, help="SQuAD gold JSONL with `article`")
    p.add_argument("--corpus", type=Path, required=True, help="folder of its articles")
    p.add_argument("--n", type=int, default=200, help="questions, half unanswerable")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("eval-out/verify-sample"))
    p.add_argument(
        "--workdir", type=Path, default=None, help="keep the scratch index here (default: temp)"
    )
    args = p.parse_args(argv)
    settings = Settings()

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="qa-verify-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = evaluate(
            settings, args.gold, args.corpus, workdir, n=args.n, seed=args.seed, log=log
        )
    paths = write(results, args.out)
    s = results["summary"]
    print(
        f"{s['n']} questions: AUC(p_no, unanswerable) {s['auc_p_no_unanswerable']} "
        f"{s['auc_95']}, seconds p50 {s['seconds_p50']} p95 {s['seconds_p95']}"
    )
    print("wrote " + ", ".join(str(x) for x in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
