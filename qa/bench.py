"""`qa bench`: indexing, query, answer, scale, cold-start and server figures, each against a
floor measured in the same run (the machine is shared and noisy; a ratio means more than a
time).

Everything happens in a scratch folder (deleted afterwards unless `--work` names one):
the seed index (query, cold start, server), a generated corpus and its index (indexing
throughput) and a synthetic 100,000-chunk index made from it (scale).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark indexing, queries, answers, scale, cold start and the server against "
        "floors",
        description="Benchmark indexing (annotation included), retrieval latency, the "
        "extractive answerer's latency, the same on a 100,000-chunk index, cold "
        "start and `qa serve` under concurrent clients, and careful mode (when its verifier "
        "backend is configured: QA_VERIFIER, QA_LLAMACPP_MODEL), each against a floor "
        "measured in the same run. Takes 11-12 minutes at the default size on a quiet "
        "2-core machine, plus careful mode's questions (seconds each).",
    )
    p.add_argument(
        "--articles", type=int, default=1000, help="generated articles to index (default 1000)"
    )
    p.add_argument(
        "--careful",
        type=int,
        default=30,
        metavar="N",
        help="careful-mode questions on the seeds, each check against the model's bare "
        "evaluation of the same prompt (default 30; 0 skips it)",
    )
    p.add_argument(
        "--careful-only", action="store_true", help="measure careful mode alone, on the seeds"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", type=Path, default=None, help="write bench.md and bench.json here")
    # Knobs for quick runs (the test suite) and experiments; not part of the interface.
    p.add_argument("--queries", type=int, default=300, help=argparse.SUPPRESS)
    p.add_argument("--scale-chunks", type=int, default=100_000, help=argparse.SUPPRESS)
    p.add_argument("--requests", type=int, default=200, help=argparse.SUPPRESS)
    p.add_argument("--cold-runs", type=int, default=3, help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _say(message: str) -> None:
    print(f"qa bench: {message}", file=sys.stderr, flush=True)


def _seeds(settings: Any) -> list[Path]:
    """The seed articles: QA_CORPUS when it exists, else the checkout's seeds/."""
    found = [Path(p) for p in settings.corpus if Path(p).exists()]
    if found:
        return found
    beside = Path(__file__).resolve().parent.parent / "seeds"
    if beside.is_dir():
        return [beside]
    from index.errors import NewsQAError

    raise NewsQAError("qa bench needs the seed articles: run it from the checkout (seeds/).")


def _gold() -> list[str]:
    from importlib.resources import as_file, files

    from qa.benchmarks.corpus import gold_questions

    with as_file(files("eval") / "gold.jsonl") as path:
        return gold_questions(path)


def careful_settings(settings: Any) -> Any:
    """Careful mode as benchmarked: every check evaluates its whole prompt, as the floor does
    (with QA_LLAMACPP_REUSE_PROMPT a check whose passage began the previous prompt too would
    evaluate only the rest, and the ratio would say less than nothing about the overhead)."""
    return settings.model_copy(update={"llamacpp_reuse_prompt": False})


def measure_careful(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """`qa bench --careful-only`: the seed index, then careful mode against its floor."""
    from index.build import build_index
    from index.settings import Settings
    from qa.assistant import Assistant
    from qa.benchmarks.careful import bench_careful
    from qa.benchmarks.stats import machine_info, machine_line

    t = time.perf_counter()
    base = Settings()
    seed_settings = base.model_copy(update={"data_dir": work / "seed", "corpus": _seeds(base)})
    _say("indexing the seeds")
    build_index(seed_settings)
    _say(f"careful mode ({args.careful} questions)")
    careful = bench_careful(Assistant(careful_settings(seed_settings)), _gold(), args.careful)
    info = machine_info()
    return {
        "machine": machine_line(info),
        "machine_detail": info,
        "careful": careful,
        "seconds": round(time.perf_counter() - t, 1),
    }


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from index.build import build_index
    from index.embed import SentenceTransformerEmbedder
    from index.settings import Settings
    from qa.assistant import Assistant
    from qa.benchmarks.coldstart import bench_cold_start
    from qa.benchmarks.corpus import generate_corpus
    from qa.benchmarks.indexing import bench_indexing
    from qa.benchmarks.query import bench_query
    from qa.benchmarks.report import targets
    from qa.benchmarks.scale import build_scale_index
    from qa.benchmarks.server import bench_server
    from qa.benchmarks.stats import machine_info, machine_line

    t_start = time.perf_counter()
    base = Settings()
    seeds = _seeds(base)
    gold = _gold()
    seed_settings = base.model_copy(update={"data_dir": work / "seed", "corpus": seeds})
    gen_settings = seed_settings.model_copy(update={"data_dir": work / "generated"})
    scale_settings = seed_settings.model_copy(update={"data_dir": work / "scale"})
    phases: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = round(now - since, 1)
        return now

    t = time.perf_counter()
    _say(f"generating {args.articles} articles; indexing the seeds")
    corpus = generate_corpus(seeds, work / "corpus", args.articles)
    embedder = SentenceTransformerEmbedder(seed_settings.model_dir(), base.embed_batch_size)
    embedder.embed(["warm up"])
    model_load = time.perf_counter() - t
    seed_report = build_index(seed_settings, seeds, embedder=embedder)
    # The ONNX export is per data folder and one-off: not part of the measured build.
    for other in ("generated", "scale"):
        shutil.copytree(work / "seed" / "models", work / other / "models")
    t = lap("setup", t)

    _say(f"indexing {args.articles} generated articles, then the bare-encode floor")
    index = bench_indexing(gen_settings, [work / "corpus"], embedder)
    index["model_load_s"] = round(model_load, 2)
    index["corpus_files"] = len(corpus)
    t = lap("index", t)

    _say(f"query latency: seeds, then the generated corpus ({args.queries} queries each)")
    query_seed = bench_query(Assistant(seed_settings), gold, args.queries)
    query_seed["chunks_indexed"] = seed_report.chunks
    # Retrieval only: the generated corpus is a waypoint between the seeds and the scale index.
    query_corpus = bench_query(
        Assistant(gen_settings), gold, args.queries, offset=1000, answerers=()
    )
    t = lap("query", t)

    _say(f"building a {args.scale_chunks}-chunk index from the generated one")
    scale_build = build_scale_index(gen_settings, scale_settings, args.scale_chunks)
    t = lap("scale_build", t)
    _say("query latency at scale")
    # Each answerer on a third of the questions keeps the run short.
    query_scale = bench_query(
        Assistant(scale_settings), gold, args.queries, offset=2000, answer_every=3
    )
    t = lap("scale_query", t)

    _say("cold start")
    cold = bench_cold_start(seed_settings.data_dir, gold[0], args.cold_runs)
    t = lap("cold_start", t)

    _say(f"qa serve under 1, 4, 16 clients ({args.requests} requests each)")
    server = bench_server(Assistant(seed_settings), gold, work, requests=args.requests)
    t = lap("server", t)

    careful: dict[str, Any] = {"skipped": "--careful 0"}
    if args.careful:
        from qa.benchmarks.careful import bench_careful

        _say(f"careful mode ({args.careful} questions)")
        careful = bench_careful(Assistant(careful_settings(seed_settings)), gold, args.careful)
        lap("careful", t)

    info = machine_info()
    result: dict[str, Any] = {
        "machine": machine_line(info),
        "machine_detail": info,
        "config": {
            "articles": args.articles,
            "queries": args.queries,
            "scale_chunks": args.scale_chunks,
            "requests_per_level": args.requests,
            "cold_runs": args.cold_runs,
        },
        "index": index,
        "retrieve": query_seed["retrieve"],
        "answer": query_seed["answers"]["extractive"],
        "scale": {
            **scale_build,
            "retrieve_p50_ms": query_scale["retrieve"]["p50_ms"],
            "retrieve_p95_ms": query_scale["retrieve"]["p95_ms"],
            "floor_p95_ms": query_scale["retrieve"]["floor_p95_ms"],
            "ratio_to_seed_p95": round(
                query_scale["retrieve"]["p95_ms"] / query_seed["retrieve"]["p95_ms"], 3
            ),
            "answer_p50_ms": query_scale["answers"]["extractive"]["p50_ms"],
            "answer_p95_ms": query_scale["answers"]["extractive"]["p95_ms"],
            "answer_ratio_to_retrieve": query_scale["answers"]["extractive"]["ratio_to_retrieve"],
        },
        "query_seed": query_seed,
        "query_corpus": query_corpus,
        "query_scale": query_scale,
        "cold_start": cold,
        "server": server["server"],
        "in_process_rps": server["in_process_rps"],
        "server_ratio_to_in_process": server["ratio_16_to_in_process"],
        "careful": careful,
        "peak_rss_mb": server["peak_rss_mb"],
        "rss_after_warmup_mb": server["rss_after_warmup_mb"],
        "phases_s": phases,
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    result["targets"] = targets(result)
    return result


def run(args: argparse.Namespace) -> int:
    from qa.benchmarks.report import careful_markdown, markdown

    work = args.work or Path(tempfile.mkdtemp(prefix="qa-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = measure_careful(args, work) if args.careful_only else measure(args, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    text = careful_markdown(result) if args.careful_only else markdown(result)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench.md").write_text(text, encoding="utf-8")
        (args.out / "bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        _say(f"wrote {args.out / 'bench.md'} and {args.out / 'bench.json'}")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(text, end="")
    return 0
