"""Run a gold set through the public `Assistant` API and write what happened.

`evaluate` asks every question (with its history) in this process and scores it with
`eval.metrics`; `write` puts results.json, report.md and two PNG charts in a folder;
`compare` and `check_bars` read a results dict back. Nothing here knows any gold question.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.metrics import (
    METRICS,
    GoldItem,
    Prediction,
    contains,
    correct,
    covered,
    score,
    summarize,
)
from index.errors import BadInputError, NewsQAError, NotFoundError

if TYPE_CHECKING:
    from qa.assistant import Assistant

# --min-*/--max-* flag -> (summary metric, the bar holds when value >= X, or <= X)
BARS: dict[str, tuple[str, str]] = {
    "min_accuracy": ("accuracy", ">="),
    "min_answered_correctly": ("answered_correctly", ">="),
    "min_abstention": ("abstention", ">="),
    "max_false_abstention": ("false_abstention", "<="),
    "min_citation_validity": ("citation_validity", ">="),
}
ACCURACY_CHART = "accuracy_per_kind.png"
LATENCY_CHART = "latency.png"


# -- input ----------------------------------------------------------------------------------
def load_gold(path: Path) -> list[GoldItem]:
    """Read a gold JSONL file; a malformed line is a BadInputError naming the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"Cannot read the gold file {path}: {exc}") from exc
    items: list[GoldItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = _gold_item(json.loads(line))
        except (ValueError, TypeError, KeyError) as exc:
            raise BadInputError(f"{path}:{number}: {exc}") from exc
        if item.id in seen:
            raise BadInputError(f"{path}:{number}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise BadInputError(f"The gold file {path} holds no items.")
    return items


def _gold_item(raw: Any) -> GoldItem:
    if not isinstance(raw, dict):
        raise ValueError("each line must be a JSON object")
    missing = {"id", "question", "answers", "sources", "kind"} - raw.keys()
    if missing:
        raise KeyError(f"missing field(s): {', '.join(sorted(missing))}")
    answers, sources, history = raw["answers"], raw["sources"], raw.get("history") or []
    if not all(isinstance(raw[k], str) and raw[k].strip() for k in ("id", "question", "kind")):
        raise ValueError("id, question and kind must be non-empty strings")
    for name, value in (("answers", answers), ("sources", sources)):
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError(f"{name} must be a list of non-empty strings")
    if (raw["kind"] == "unanswerable") != (not answers):
        raise ValueError("answers must be empty exactly when kind is 'unanswerable'")
    for turn in history:
        if not (
            isinstance(turn, dict)
            and turn.get("role") in {"user", "assistant"}
            and isinstance(turn.get("content"), str)
        ):
            raise ValueError("history must be a list of {role: user|assistant, content: str}")
    return GoldItem(
        id=raw["id"],
        question=raw["question"],
        answers=tuple(answers),
        sources=tuple(sources),
        kind=raw["kind"],
        history=tuple({"role": t["role"], "content": t["content"]} for t in history),
    )


def load_results(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError(f"Cannot read previous results {path}: {exc}") from exc
    if not isinstance(data, dict) or not {"summary", "per_kind", "items"} <= data.keys():
        raise BadInputError(f"{path} is not a results.json written by `qa eval`.")
    return data


# -- running --------------------------------------------------------------------------------
def evaluate(
    assistant: Assistant,
    items: Sequence[GoldItem],
    *,
    answerer: str | None = None,
    k: int | None = None,
    gold_name: str = "",
    progress: bool = True,
    verify: bool | None = None,
) -> dict[str, Any]:
    """Ask every item, score it, and return {"summary", "per_kind", "items"}. `verify`:
    careful mode (default QA_VERIFY)."""
    # One untimed question first, so model loading is not counted as one item's latency.
    first = items[0]
    assistant.ask(
        first.question, [dict(t) for t in first.history], answerer=answerer, k=k, verify=verify
    )
    texts: dict[str, str | None] = {}
    rows: list[dict[str, Any]] = []
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), unit="question", desc="eval", file=sys.stderr)
    for item in items:
        t0 = time.perf_counter()
        try:
            answer = assistant.ask(
                item.question,
                [dict(t) for t in item.history],
                answerer=answerer,
                k=k,
                verify=verify,
            )
        except NewsQAError as exc:
            raise type(exc)(f"gold item {item.id}: {exc}") from exc
        latency = (time.perf_counter() - t0) * 1000
        data = answer.to_dict()
        rows.append(_row(item, data, latency, _cited_texts(assistant, data["citations"], texts)))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    summary = _summary(rows)
    checks = [r["check"]["outcome"] for r in rows if r["check"]]
    summary.update(
        answerer=rows[0]["answerer"] if rows else answerer or assistant.settings.answerer,
        verify=bool(checks),
        checks={o: checks.count(o) for o in sorted(set(checks))},
        k=k or assistant.settings.k,
        gold=gold_name,
        fallbacks=sum(
            1
            for r in rows
            if r["notice"] and not r["withheld"] and (r["check"] or {}).get("outcome") != "fallback"
        ),
        withheld=sum(1 for r in rows if r["withheld"]),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    kinds = sorted({r["kind"] for r in rows})
    per_kind = {kind: _summary([r for r in rows if r["kind"] == kind]) for kind in kinds}
    return {"summary": summary, "per_kind": per_kind, "items": rows}


def _cited_texts(
    assistant: Assistant, citations: Sequence[Mapping[str, Any]], cache: dict[str, str | None]
) -> dict[str, str]:
    """The text of every cited article (an id the index does not know is left out)."""
    for c in citations:
        article_id = str(c["article_id"])
        if article_id not in cache:
            try:
                cache[article_id] = str(assistant.article(article_id)["text"])
            except NotFoundError:
                cache[article_id] = None
    return {a: t for a in {str(c["article_id"]) for c in citations} if (t := cache[a]) is not None}


def _row(
    item: GoldItem, answer: dict[str, Any], latency_ms: float, articles: Mapping[str, str]
) -> dict[str, Any]:
    prediction = Prediction.from_answer(answer)
    metrics = score(item, prediction, articles)
    return {
        "id": item.id,
        "kind": item.kind,
        "question": item.question,
        "history": [dict(t) for t in item.history],
        "expected": list(item.answers),
        "found": list(covered(item, prediction)),
        "sources": list(item.sources),
        "answer": answer["answer"],
        "abstained": answer["abstained"],
        "conflict": answer["conflict"],
        "citations": answer["citations"],
        "answerer": answer["answerer"],
        "notice": answer["notice"],
        "withheld": answer["withheld"],
        "check": answer.get("check"),
        "query": answer["trace"]["query"],
        "passages": [
            {key: p.get(key) for key in ("article_id", "chunk_id", "start", "end", "score", "text")}
            for p in prediction.passages
        ],
        "latency_ms": round(latency_ms, 1),
        "metrics": metrics,
        "correct": correct(item, prediction),
    }


def _summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    flat = [{**r["metrics"], "correct": r["correct"]} for r in rows]
    return summarize(flat, [r["latency_ms"] for r in rows])


# -- bars and comparison --------------------------------------------------------------------
def check_bars(summary: Mapping[str, Any], bars: Mapping[str, float | None]) -> list[str]:
    """One message per bar that is not met (a bar on a metric with no data is not met)."""
    failures = []
    for flag, bar in bars.items():
        if bar is None:
            continue
        metric, op = BARS[flag]
        value = summary.get(metric)
        option = "--" + flag.replace("_", "-")
        if value is None:
            failures.append(f"{option} {bar}: {metric} could not be measured on this gold set")
        elif (op == ">=" and value < bar) or (op == "<=" and value > bar):
            failures.append(f"{option} {bar}: {metric} is {value:.3f}, needs {op} {bar}")
    return failures


def compare(current: Mapping[str, Any], previous: Mapping[str, Any]) -> str:
    """Per-metric deltas (overall and per kind) and the items whose `correct` flag flipped."""
    cur, prev = current["summary"], previous["summary"]
    lines = [
        f"Compared with previous run: answerer {prev.get('answerer')}, {prev.get('n')} items "
        f"(now: {cur.get('answerer')}, {cur.get('n')} items)",
        f"{'metric':<26}{'previous':>10}{'current':>10}{'delta':>10}",
    ]
    names = [*METRICS, "latency_p50_ms", "latency_p95_ms"]
    for name in names:
        lines.append(_delta_line(name, prev.get(name), cur.get(name)))
    for kind, stats in current["per_kind"].items():
        old = previous["per_kind"].get(kind, {})
        lines.append(_delta_line(f"{kind}: accuracy", old.get("accuracy"), stats.get("accuracy")))
    before = {r["id"]: r for r in previous["items"]}
    now = {r["id"]: r for r in current["items"]}
    shared = [i for i in now if i in before]
    worse = [now[i] for i in shared if before[i]["correct"] and not now[i]["correct"]]
    better = [now[i] for i in shared if not before[i]["correct"] and now[i]["correct"]]
    lines.append(f"Flipped right -> wrong ({len(worse)}):")
    lines += [f"  {r['id']}  {r['question']}" for r in worse]
    lines.append(f"Flipped wrong -> right ({len(better)}):")
    lines += [f"  {r['id']}  {r['question']}" for r in better]
    unmatched = len(now) + len(before) - 2 * len(shared)
    if unmatched:
        lines.append(f"({unmatched} items are in only one of the two runs and were not compared)")
    return "\n".join(lines)


def _delta_line(name: str, old: float | None, new: float | None) -> str:
    delta = f"{new - old:+.3f}" if old is not None and new is not None else "n/a"
    return f"{name:<26}{_fmt(old):>10}{_fmt(new):>10}{delta:>10}"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.0f}"
    return str(value)


# -- output ---------------------------------------------------------------------------------
def write(
    results: Mapping[str, Any], out_dir: Path, previous: Mapping[str, Any] | None = None
) -> list[Path]:
    """results.json, report.md and the charts in `out_dir`; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "results.json", out_dir / "report.md"]
    paths[0].write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", "utf-8")
    paths[1].write_text(report(results), "utf-8")
    paths.append(_accuracy_chart(results, previous, out_dir / ACCURACY_CHART))
    paths.append(_latency_chart(results, out_dir / LATENCY_CHART))
    return paths


def summary_text(results: Mapping[str, Any]) -> str:
    s = results["summary"]
    careful = " in careful mode" if s.get("verify") else ""
    lines = [f"{s['answerer']}{careful} on {s['n']} items (k={s['k']}):"]
    lines += [f"  {name:<22}{_fmt(s[name])}" for name in METRICS]
    p50, p95 = _fmt(s["latency_p50_ms"]), _fmt(s["latency_p95_ms"])
    lines.append(f"  {'latency p50 / p95':<22}{p50} / {p95} ms")
    return "\n".join(lines)


def report(results: Mapping[str, Any]) -> str:
    s, per_kind, rows = results["summary"], results["per_kind"], results["items"]
    out = [
        f"# Evaluation: {s['answerer']}{' in careful mode' if s.get('verify') else ''}",
        "",
        f"{s['n']} items from `{s['gold']}`, k={s['k']}, {s['created']}. "
        f"Fallbacks to another answerer: {s['fallbacks']}. "
        f"Replies withheld as unsupported by any passage: {s.get('withheld', 0)}."
        + (
            " Careful mode (the verifier checked each answer against its cited passages): "
            + ", ".join(f"{o} {c}" for o, c in s["checks"].items())
            + "."
            if s.get("verify")
            else ""
        ),
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    out += [f"| {name} | {_fmt(s[name])} |" for name in METRICS]
    out += [
        f"| latency p50 (ms) | {_fmt(s['latency_p50_ms'])} |",
        f"| latency p95 (ms) | {_fmt(s['latency_p95_ms'])} |",
        "",
        "## Per kind",
        "",
        "| kind | n | " + " | ".join(METRICS) + " | p50 ms |",
        "| --- " * (len(METRICS) + 3) + "|",
    ]
    for kind, k in per_kind.items():
        cells = [kind, str(k["n"]), *(_fmt(k[m]) for m in METRICS), _fmt(k["latency_p50_ms"])]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", f"![accuracy per kind]({ACCURACY_CHART})", f"![latency]({LATENCY_CHART})", ""]
    wrong = [r for r in rows if not r["correct"]]
    out += [f"## Wrong answers ({len(wrong)})", ""]
    for r in wrong:
        out += _wrong_item(r)
    return "\n".join(out) + "\n"


def _wrong_item(r: Mapping[str, Any]) -> list[str]:
    def one_line(text: str, limit: int = 400) -> str:
        text = " ".join(str(text).split())
        return text if len(text) <= limit else text[:limit] + "…"

    expected = " | ".join(f'"{a}"' for a in r["expected"]) or "(abstain)"
    found = " | ".join(f'"{a}"' for a in r["found"]) or "nothing"
    got = ("(abstained) " if r["abstained"] else "") + one_line(r["answer"])
    lines = [f"### {r['id']} · {r['kind']} · accuracy {_fmt(r['metrics']['accuracy'])}", ""]
    lines += [f"- {t['role']}: {one_line(t['content'])}" for t in r["history"]]
    lines += [
        f"- **question:** {r['question']}",
        f"- **expected:** {expected}  (sources: {', '.join(r['sources']) or '-'})",
        f"- **got:** {got}",
        f"- **expected answers stated:** {found}",
        f"- **retrieved** for `{one_line(r['query'])}`:",
    ]
    for n, p in enumerate(r["passages"], 1):
        holds = [a for a in r["expected"] if contains(str(p["text"]), a)]
        mark = f" **holds {' | '.join(holds)}**" if holds else ""
        lines.append(
            f"  {n}. `{p['article_id']}` {p['start']}-{p['end']} ({_fmt(p['score'])}){mark}: "
            f"{one_line(p['text'], 300)}"
        )
    return [*lines, ""]


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _accuracy_chart(
    results: Mapping[str, Any], previous: Mapping[str, Any] | None, path: Path
) -> Path:
    runs = [("previous", previous)] if previous else []
    runs.append(("this run", results))
    kinds = list(results["per_kind"])
    fig = _figure(7, 4)
    ax = fig.add_subplot()
    width = 0.8 / len(runs)
    for i, (when, run) in enumerate(runs):
        values = [(run["per_kind"].get(kind) or {}).get("accuracy") or 0.0 for kind in kinds]
        xs = [x + (i - (len(runs) - 1) / 2) * width for x in range(len(kinds))]
        label = f"{run['summary']['answerer']} ({when}, k={run['summary']['k']})"
        bars = ax.bar(xs, values, width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(range(len(kinds)), kinds)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("accuracy (unanswerable: share abstained)", fontsize=8)
    ax.set_title(f"Accuracy per kind — {results['summary']['answerer']}")
    ax.legend(loc="lower right", fontsize=8)
    fig.savefig(path, dpi=100)
    return path


def _latency_chart(results: Mapping[str, Any], path: Path) -> Path:
    s = results["summary"]
    fig = _figure(7, 3.5)
    ax = fig.add_subplot()
    ax.hist([r["latency_ms"] for r in results["items"]], bins=20)
    for name, style in (("latency_p50_ms", "--"), ("latency_p95_ms", ":")):
        if s[name] is not None:
            label = f"{name[8:11]} {s[name]:.0f} ms"
            ax.axvline(s[name], color="black", linestyle=style, label=label)
    ax.set_xlabel("ms per question")
    ax.set_ylabel("questions")
    ax.set_title(f"Latency — {s['answerer']} ({s['n']} questions)")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=100)
    return path
