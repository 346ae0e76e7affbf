"""The targets of issues 6 and 12 checked against a result, and the result as markdown tables."""

from __future__ import annotations

from typing import Any

from qa.benchmarks.query import WARM_QUESTIONS


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target: what is measured, its value, the bar, and whether it is met."""
    top = r["server"][-1]
    rows = [
        ("indexing, annotation included / encode floor", r["index"]["ratio"], ">=", 0.85),
        ("retrieval p50 / floor p50", r["retrieve"]["ratio"], "<=", 1.5),
        ("extractive answer p50 / retrieval p50", r["answer"]["ratio_to_retrieve"], "<=", 2.0),
        (
            "extractive answer p50 / retrieval p50 at scale",
            r["scale"]["answer_ratio_to_retrieve"],
            "<=",
            3.0,
        ),
        ("retrieval p95 at scale / seed p95", r["scale"]["ratio_to_seed_p95"], "<=", 3.0),
        ("cold `qa ask` seconds", r["cold_start"]["seconds"], "<=", 3.0),
        (f"errors at {top['clients']} clients", top["errors"], "<=", 0),
        (
            f"{top['clients']}-client rps / in-process rps",
            r["server_ratio_to_in_process"],
            ">=",
            0.8,
        ),
    ]
    return [
        {
            "target": name,
            "value": value,
            "bar": f"{op} {bar}",
            "met": bool(value >= bar if op == ">=" else value <= bar),
        }
        for name, value, op, bar in rows
    ]


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _query_rows(name: str, q: dict[str, Any]) -> list[list[Any]]:
    ret = q["retrieve"]
    rows = [
        [
            f"{name}: retrieval",
            q["chunks"],
            q["queries"],
            ret["p50_ms"],
            ret["p95_ms"],
            f"{ret['floor_p50_ms']} / {ret['floor_p95_ms']}",
            f"{ret['ratio']} / {ret['ratio_p95']}",
        ]
    ]
    for answerer, ans in q["answers"].items():
        rows.append(
            [
                f"{name}: {answerer} answer",
                q["chunks"],
                ans["questions"],
                ans["p50_ms"],
                ans["p95_ms"],
                "retrieval p50",
                ans["ratio_to_retrieve"],
            ]
        )
    return rows


def markdown(r: dict[str, Any]) -> str:
    ix = r["index"]
    parts = [
        f"Machine: {r['machine']}. Load average at start: {r['machine_detail']['load_average']}. "
        f"Run took {r['seconds']} s.",
        "### Targets",
        _table(
            ["target", "value", "bar", "met"],
            [
                [t["target"], t["value"], t["bar"], "yes" if t["met"] else "**no**"]
                for t in r["targets"]
            ],
        ),
        "### Indexing",
        _table(
            [
                "articles",
                "chunks",
                "seconds",
                "chunks/s",
                "floor chunks/s",
                "ratio",
                "ratio without annotation",
                "batch",
            ],
            [
                [
                    ix["articles"],
                    ix["chunks"],
                    ix["seconds"],
                    ix["chunks_per_s"],
                    ix["floor_chunks_per_s"],
                    ix["ratio"],
                    ix["ratio_without_annotation"],
                    ix["batch_size"],
                ]
            ],
        ),
        "Where the time goes (s): "
        + ", ".join(f"{k} {v}" for k, v in ix["stages_s"].items())
        + f". Floor: bare `encode` of the same {ix['chunks']} chunk texts before and after "
        f"the build ({' s, '.join(map(str, ix['floor_before_after_s']))} s), "
        f"mean {ix['floor_seconds']} s.",
        "### Query latency (ms)",
        _table(
            ["corpus", "chunks", "queries", "p50", "p95", "floor p50 / p95", "ratio p50 / p95"],
            _query_rows("seeds", r["query_seed"])
            + _query_rows("generated", r["query_corpus"])
            + _query_rows("scale", r["query_scale"]),
        ),
        "Retrieval stages at p50 (ms): "
        + "; ".join(
            f"{name} "
            + ", ".join(f"{k} {v}" for k, v in r[key]["retrieve"]["stages_p50_ms"].items())
            for name, key in (
                ("seeds", "query_seed"),
                ("generated", "query_corpus"),
                ("scale", "query_scale"),
            )
        )
        + ".",
        "Answerer warm-up before timing (s, "
        + f"{WARM_QUESTIONS} questions): "
        + "; ".join(
            f"{name} " + ", ".join(f"{a} {v['warm_up_s']}" for a, v in r[key]["answers"].items())
            for name, key in (("seeds", "query_seed"), ("scale", "query_scale"))
        )
        + ".",
        f"Scale index: {r['scale']['chunks']} chunks; vectors are {r['scale']['vectors']} "
        f"(from {r['scale']['source_chunks']} real chunks); annotations are "
        f"{r['scale']['annotations']}; built in "
        + ", ".join(f"{k} {v} s" for k, v in r["scale"]["build_s"].items())
        + ".",
        "### Cold start",
        _table(
            ["command", "seconds to output (median)", "runs"],
            [
                [
                    f"`{r['cold_start']['command']}`",
                    r["cold_start"]["seconds"],
                    r["cold_start"]["all_seconds"],
                ],
                [
                    f"`{r['cold_start']['floor']}` (floor)",
                    r["cold_start"]["floor_seconds"],
                    r["cold_start"]["all_floor_seconds"],
                ],
            ],
        ),
        "Seconds until the answer (the floor: its word) is printed; until the process has "
        f"exited: {r['cold_start']['exit_seconds']} "
        f"(floor {r['cold_start']['floor_exit_seconds']}).",
        "### Server (`POST /v1/ask`, extractive, loopback)",
        _table(
            ["clients", "requests", "rps", "p50 ms", "p95 ms", "errors"],
            [
                [s["clients"], s["requests"], s["rps"], s["p50_ms"], s["p95_ms"], s["errors"]]
                for s in r["server"]
            ]
            + [
                [
                    "in-process, 1 thread",
                    r["server"][-1]["requests"],
                    r["in_process_rps"],
                    *[""] * 3,
                ]
            ],
        ),
        f"Peak RSS of `qa serve` after the load: {r['peak_rss_mb']} MB "
        f"({r['rss_after_warmup_mb']} MB after warm-up).",
        careful_section(r["careful"]),
    ]
    return "\n\n".join(parts) + "\n"


def careful_section(c: dict[str, Any]) -> str:
    """Careful mode: its latency against the model's bare prompt evaluation, and what changed."""
    head = "### Careful mode (the fast answer, then the verifier's check of its passage)\n\n"
    if "check" not in c:
        return head + str(c.get("skipped", "not measured"))
    server = (
        f" llama.cpp's own prompt evaluation: p50 {c['server_prompt_ms_p50']} ms for "
        f"{c['prompt_tokens_p50']:g} prompt tokens (check / that: "
        f"{c['check_ratio_to_server_prompt']})."
        if "server_prompt_ms_p50" in c
        else ""
    )
    return head + "\n\n".join(
        [
            _table(
                ["figure", "p50 ms", "p95 ms", "ratio p50 / p95 to the floor"],
                [
                    [
                        "the check",
                        c["check"]["p50_ms"],
                        c["check"]["p95_ms"],
                        f"{c['check_ratio_to_floor']} / {c['check_ratio_to_floor_p95']}",
                    ],
                    [
                        "careful answer (retrieval, fast answer, check)",
                        c["careful"]["p50_ms"],
                        c["careful"]["p95_ms"],
                        c["careful_ratio_to_floor"],
                    ],
                    [
                        "floor: bare evaluation of the same prompt, one token",
                        c["floor"]["p50_ms"],
                        c["floor"]["p95_ms"],
                        "",
                    ],
                ],
            ),
            f"{c['questions']} questions on the seeds, {c['checked']} checked by {c['verifier']} "
            f"(cut {c['cut']}); outcomes: "
            + ", ".join(f"{k} {v}" for k, v in c["outcomes"].items())
            + f". The check changed {c['changed_share']} of the answers (into an abstention)."
            + server,
        ]
    )


def careful_markdown(r: dict[str, Any]) -> str:
    """`qa bench --careful-only`."""
    return (
        f"Machine: {r['machine']}. Load average at start: {r['machine_detail']['load_average']}. "
        f"Run took {r['seconds']} s.\n\n" + careful_section(r["careful"]) + "\n"
    )
