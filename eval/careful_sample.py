"""Careful mode against the fast answer on a seeded sample of a SQuAD 2.0 gold set, and the
fit of careful mode's cut (qa/careful.json).

    python -m eval.careful_sample --gold ../shared/squad2/gold.jsonl \\
        --corpus ../shared/squad2/corpus --n 200 \\
        --out eval/baseline/careful-sample --cut qa/careful.json

The sample is eval/verify_sample.py's (half unanswerable, spread over the articles, seeded),
asked with retrieval over all its articles indexed together. Every question goes through
`Assistant.stream(..., answerer="extractive", verify=True)`: the fast answer (the extractive
answerer as packaged, its own abstention included) and the check of its candidate (the answer it
gives, or the one its gate withheld) against the passages that candidate cites, timed. The
alternative careful mode used before, which checks only the answers the fast answerer's gate
lets through, is scored from the same rows.

The cut is a logistic regression of "unanswerable" on p_no, cut where it gives 0.5, fitted
on the questions it decides: those with a candidate answer. Every figure in the report is
out of fold, one fold per article: each article's questions are decided by a cut fitted on
the other articles. `--cut` writes the cut fitted on all of them, with its provenance.
`--from-results` refits and rewrites the report from a saved results.json without asking
the model again.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.squad import best_scores, lead
from eval.verify_sample import prepare
from index.settings import Settings
from qa.careful_fit import CAREFUL, FAST, GATED, LEAVING, READING, REPLACING, analyse, cut_file


def evaluate(
    settings: Settings,
    gold: Path,
    corpus: Path,
    workdir: Path,
    *,
    n: int,
    seed: int,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    from qa.answer import Answer, Check, Checking
    from qa.assistant import Assistant
    from qa.careful import check_inputs, load_cut, short_answer, shown_passages

    questions, scratch = prepare(settings, gold, corpus, workdir, n, seed, log)
    # Every candidate is checked, those the fast gate withheld too, whatever the cut file in
    # use says: whether careful mode should check those is what the fit decides from the rows.
    every = workdir / "careful-every-candidate.json"
    cut = dataclasses.replace(load_cut(settings.verify_cut), withheld=True)
    every.write_text(json.dumps(cut.to_json(), indent=1) + "\n", encoding="utf-8")
    assistant = Assistant(scratch.model_copy(update={"verify_cut": every}))
    t = time.perf_counter()
    verifier = assistant.verifier()  # the probe: a backend without logprobs stops here
    log(f"verifier ready on {verifier.where} in {time.perf_counter() - t:.1f} s")
    assistant.ask(questions[0]["question"], answerer="extractive")  # loads spaCy, untimed
    rows = []
    for done, q in enumerate(questions, 1):
        answers = list(q["answers"])
        t0 = time.perf_counter()
        fast: Answer | None = None
        check: Check | None = None
        for event in assistant.stream(q["question"], answerer="extractive", verify=True):
            if isinstance(event, Checking):
                fast, fast_s = event.answer, time.perf_counter() - t0
            elif isinstance(event, Check):
                check = event
        careful_s = time.perf_counter() - t0
        assert fast is not None and check is not None
        fast_em, fast_f1 = best_scores(answers, lead(fast.text, fast.abstained))
        p_no = None if check.p_no is None else round(check.p_no, 6)
        candidate = (fast.unabstained if fast.abstained else None) or fast
        em, f1 = best_scores(answers, lead(candidate.text, candidate.abstained))
        row = {
            "id": q["id"],
            "article": q["article"],
            "answerable": bool(answers),
            "fast_abstained": fast.abstained,
            "fast_em": fast_em,
            "fast_f1": fast_f1,
            "outcome": check.outcome,
            "p_no": None if fast.abstained else p_no,  # what the gated variant checks
            "fast_seconds": round(fast_s, 3),
            "careful_seconds": round(careful_s, 3),
            "check_seconds": round(check.seconds, 3),
            # Careful mode's check: the fast answer's candidate, the withheld one included.
            "committed_p_no": p_no,
            "committed_em": em,
            "committed_f1": f1,
            # The fast answerer's gate probability for that candidate: a second feature the
            # decision may be fitted on (qa.careful_fit).
            "committed_confidence": candidate.confidence,
        }
        if check.outcome == "fallback":
            raise SystemExit(f"question {q['id']}: the check failed: {check.reason}")
        # The model's own reading of the passages the check was shown, and the check of that
        # reading: careful mode may give it when the candidate is turned down (qa.careful_fit
        # decides whether, and with what cut, out of fold).
        asked = check_inputs(fast) if p_no is not None else None
        if asked is not None:
            read = verifier.read(asked[0], asked[1])
            shown = shown_passages(candidate)
            found = None if read.text is None else candidate.ground(read.text, shown)
            row["read"] = {"text": read.text, "found": found is not None, "seconds": read.seconds}
            if found is not None:
                verdict = verifier.check(asked[0], asked[1], short_answer(found))
                read_em, read_f1 = best_scores(answers, lead(found.text, False))
                row["read"].update(
                    p_no=round(verdict.p_no, 6),
                    em=read_em,
                    f1=read_f1,
                    seconds=round(read.seconds + verdict.seconds, 3),
                )
        # The next-best candidates careful mode may fall back on when the check rejects
        # this one: each checked here whatever the first's p_no, so that how many to try,
        # and with what cut, can be fitted out of fold.
        row["alternatives"] = []
        for alt in candidate.alternatives() if p_no is not None else ():
            asked = check_inputs(alt)
            if asked is None:
                continue
            verdict = verifier.check(*asked)
            alt_em, alt_f1 = best_scores(answers, lead(alt.text, alt.abstained))
            row["alternatives"].append(
                {
                    "p_no": round(verdict.p_no, 6),
                    "em": alt_em,
                    "f1": alt_f1,
                    "seconds": round(verdict.seconds, 3),
                }
            )
        rows.append(row)
        log(
            f"[{done}/{len(questions)}] {'answerable' if answers else 'unanswerable'} "
            f"{check.outcome} p_no {p_no} f1 {fast_f1:.2f} {careful_s:.1f} s"
        )
    ids = sorted(r["id"] for r in rows)
    meta = {
        "gold": gold.name,
        "gold_sha256": hashlib.sha256(gold.read_bytes()).hexdigest(),
        "n": len(rows),
        "seed": seed,
        "ids_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
        "verifier": settings.verifier,
        "model": settings.llamacpp_model.name
        if settings.verifier == "llamacpp" and settings.llamacpp_model
        else settings.openai_model,
        "threads": settings.llamacpp_threads,
        "extractive_model": str(settings.extractive_model or "packaged"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return {"meta": meta, "rows": rows}


def main(argv: Sequence[str] | None = None) -> int:
    from eval.careful_report import write

    p = argparse.ArgumentParser(
        prog="python -m eval.careful_sample",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--gold", type=Path, help="SQuAD gold JSONL with `article`")
    p.add_argument("--corpus", type=Path, help="folder of its articles")
    p.add_argument("--n", type=int, default=200, help="questions, half unanswerable")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("eval-out/careful-sample"))
    p.add_argument("--cut", type=Path, default=None, help="write the fitted cut file here")
    p.add_argument(
        "--from-results", type=Path, default=None, help="refit from a saved results.json"
    )
    args = p.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.from_results:
        results = json.loads(args.from_results.read_text(encoding="utf-8"))
        results = {"meta": results["meta"], "rows": results["rows"]}
    else:
        if not args.gold or not args.corpus:
            p.error("give --gold and --corpus (or --from-results)")
        with tempfile.TemporaryDirectory(prefix="qa-careful-") as tmp:
            results = evaluate(
                Settings(), args.gold, args.corpus, Path(tmp), n=args.n, seed=args.seed, log=log
            )
    analysis = analyse(results)
    paths = write(results, analysis, args.out)
    data = cut_file(results, analysis, "python -m eval.careful_sample --cut")
    if args.cut:
        args.cut.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        paths.append(args.cut)
    v = analysis["variants"]
    for name in (FAST, CAREFUL, GATED, REPLACING, READING, LEAVING):
        if v.get(name) is None:
            continue
        print(
            f"{name}: HasAns F1 {v[name]['HasAns_f1']}, NoAns {v[name]['NoAns']}, "
            f"F1 {v[name]['f1']}"
        )
    print(f"cut {data['cut']} (AUC {analysis['auc_checked']}); wrote " + ", ".join(map(str, paths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
