"""`qa serve` under concurrent clients on loopback, against the same answerer in-process.

The server is the real command in its own process (`qa serve --port 0`, access log and
all). Clients are asyncio tasks on one httpx connection pool in this process, each sending
`POST /v1/ask` back to back; every request carries a question no earlier request used, so
the server's query-embedding cache never answers. The in-process figure is the same
number of distinct questions through `Assistant.ask` in one thread, with no HTTP at all.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.benchmarks.corpus import workload
from qa.benchmarks.stats import peak_rss_mb, percentile, qa_command

if TYPE_CHECKING:
    from qa.assistant import Assistant

_READY = re.compile(r"newsqa is ready: http://([^/\s]+)/")


def start_server(data_dir: Path, log: Path, timeout: float = 180.0) -> tuple[Any, str]:
    """Launch `qa serve` on a free loopback port; (process, base URL) once it listens."""
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("QA_API_KEY", None)
    # A file, not a pipe: the access log must never block the server.
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [*qa_command(), "serve", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = _READY.search(log.read_text(errors="replace"))
        if m:
            return proc, f"http://{m.group(1)}"
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError(f"qa serve did not start; its log:\n{log.read_text(errors='replace')}")


def stop_server(proc: Any) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _load(url: str, questions: Sequence[str], clients: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    queue = iter(questions)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120.0) as client:

        async def worker() -> None:
            for question in queue:
                t = time.perf_counter()
                try:
                    r = await client.post(
                        "/v1/ask", json={"question": question, "answerer": "extractive"}
                    )
                    ok = r.status_code == 200 and "answer" in r.json()
                    if not ok:
                        errors.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                latencies.append(time.perf_counter() - t)

        wall = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - wall
    ms = [s * 1000 for s in latencies]
    return {
        "clients": clients,
        "requests": len(latencies),
        "seconds": round(wall, 2),
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def in_process_rps(assistant: Assistant, questions: Sequence[str]) -> float:
    t = time.perf_counter()
    for question in questions:
        assistant.ask(question, answerer="extractive")
    return round(len(questions) / (time.perf_counter() - t), 1)


def bench_server(
    assistant: Assistant,
    gold: Sequence[str],
    work: Path,
    levels: Sequence[int] = (1, 4, 16),
    requests: int = 200,
) -> dict[str, Any]:
    """Loads on `qa serve` over the index in `assistant.settings.data_dir`, then the same
    answerer in-process; ends with the server's peak RSS."""
    import httpx

    proc, url = start_server(assistant.settings.data_dir, work / "serve.log")
    try:
        # Both sides see the gold questions once before anything is timed (caches, lazy loads).
        for question in gold:
            httpx.post(f"{url}/v1/ask", json={"question": question}, timeout=120).raise_for_status()
        rss_idle = peak_rss_mb(proc.pid)
        runs = []
        for i, clients in enumerate(levels):
            questions = workload(gold, requests, offset=10_000 + i * requests)
            runs.append(asyncio.run(_load(url, questions, clients)))
        rss = peak_rss_mb(proc.pid)
    finally:
        stop_server(proc)
    for question in gold:
        assistant.ask(question, answerer="extractive")
    rps = in_process_rps(assistant, workload(gold, requests, offset=20_000))
    return {
        "server": runs,
        "in_process_rps": rps,
        "ratio_16_to_in_process": round(runs[-1]["rps"] / rps, 3) if rps else None,
        "peak_rss_mb": rss,
        "rss_after_warmup_mb": rss_idle,
    }
