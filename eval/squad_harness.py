"""`qa eval --squad FILE`: any SQuAD 2.0 file, indexed alone, every question asked through the
Assistant, each reply's short answer scored with SQuAD 2.0's own normalisation."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eval.squad import best_scores, lead, read_squad, summarize
from index.settings import Settings


def evaluate_squad(
    settings: Settings,
    path: Path,
    workdir: Path,
    *,
    answerer: str | None = None,
    k: int | None = None,
    limit: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Index the file's articles under `workdir`, ask every question, score the leads."""
    from index.build import build_index
    from qa.assistant import Assistant

    articles, questions = read_squad(path)
    folder = workdir / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    for aid, text in articles.items():
        (folder / aid).write_text(text, encoding="utf-8")
    scratch = settings.model_copy(update={"data_dir": workdir / "data", "corpus": [folder]})
    log(build_index(scratch).summary())
    assistant = Assistant(scratch)
    rows = []
    for q in questions[:limit] if limit else questions:
        t = time.perf_counter()
        answer = assistant.ask(q.question, answerer=answerer, k=k)
        ms = (time.perf_counter() - t) * 1000
        short = lead(answer.text, answer.abstained)
        em, f1 = best_scores(q.answers, short)
        rows.append(
            {
                "id": q.id,
                "article": q.article,
                "question": q.question,
                "answers": list(q.answers),
                "lead": short,
                "reply": answer.text,
                "abstained": answer.abstained,
                "em": em,
                "f1": f1,
                "latency_ms": round(ms, 1),
            }
        )
    by_article = {a: summarize([r for r in rows if r["article"] == a]) for a in sorted(articles)}
    latencies = sorted(float(r["latency_ms"]) for r in rows)  # type: ignore[arg-type]
    summary = {
        **summarize(rows),
        "answerer": assistant.answerer(answerer).name,
        "file": str(path),
        "p50_ms": latencies[len(latencies) // 2] if latencies else None,
    }
    return {"summary": summary, "per_article": by_article, "rows": rows}


def write(results: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.json", out / "report.md", out / "squad.png"]
    paths[0].write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    s = results["summary"]
    lines = [
        f"# SQuAD 2.0 evaluation: {s['answerer']} on {Path(s['file']).name}",
        "",
        "Every article of the file is indexed alone; each question is asked with nothing else "
        "in the index. EM/F1 are SQuAD 2.0's, of the reply's short answer (the text before its "
        "first marker; an abstention is the empty answer).",
        "",
        "| articles | questions | HasAns F1 | HasAns EM | NoAns | overall F1 | overall EM | "
        "abstained | false abstention |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    for name, f in [*results["per_article"].items(), ("**all**", s)]:
        lines.append(
            f"| {name} | {f['total']} | {fmt(f['HasAns_f1'])} | {fmt(f['HasAns_exact'])} | "
            f"{fmt(f['NoAns_exact'])} | {fmt(f['f1'])} | {fmt(f['exact'])} | "
            f"{fmt(f['abstention_rate'])} | {fmt(f['false_abstention'])} |"
        )
    lines += ["", f"Latency p50: {s['p50_ms']} ms.", "", "![scores](squad.png)", ""]
    paths[1].write_text("\n".join(lines), encoding="utf-8")
    _chart(results, paths[2])
    return paths


def _chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["per_article"])
    fig, ax = plt.subplots(figsize=(8, 4))
    xs = range(len(names))
    has = [results["per_article"][n]["HasAns_f1"] or 0 for n in names]
    no = [results["per_article"][n]["NoAns_exact"] or 0 for n in names]
    ax.bar([x - 0.2 for x in xs], has, width=0.4, label="HasAns F1")
    ax.bar([x + 0.2 for x in xs], no, width=0.4, label="NoAns")
    ax.set_xticks(list(xs), [n.removesuffix(".txt") for n in names], rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
