"""A bounded load test on loopback: concurrent clients mixing ask, search and stream.

`make test` runs it small; `qa bench` runs the full one. No request may fail, and the
server's memory must stay flat between the two halves of the run (no per-request leak).
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from index.settings import Settings
from tests.test_api import start_server, stop_servers, wait_ready

pytestmark = [pytest.mark.server, pytest.mark.slow]

CLIENTS = 8
ROUNDS = 2
PER_CLIENT = 12
QUESTIONS = [
    "How many North Korean troops are in Russia?",
    "Who is Maria Zakharova?",
    "What did Kim Jong Un sign?",
    "Where did the first group of soldiers travel from?",
    "What is the capital of Peru?",
    "fake IDs and uniforms",
]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _client(url: str, seed: int) -> list[tuple[int, float]]:
    out = []
    with httpx.Client(base_url=url, timeout=120) as http:
        for i in range(PER_CLIENT):
            q = QUESTIONS[(seed + i) % len(QUESTIONS)]
            t0 = time.perf_counter()
            kind = i % 3
            if kind == 0:
                r = http.post("/v1/ask", json={"question": q})
                status = r.status_code
            elif kind == 1:
                r = http.post("/v1/search", json={"query": q, "k": 3})
                status = r.status_code
            else:
                with http.stream("POST", "/v1/ask/stream", json={"question": q}) as s:
                    body = "".join(s.iter_text())
                    status = s.status_code if "event: answer" in body else 599
            out.append((status, (time.perf_counter() - t0) * 1000))
    return out


def test_mixed_load_has_no_errors_and_flat_memory(seed_settings: Settings, tmp_path: Path) -> None:
    server = start_server(seed_settings.data_dir, tmp_path / "serve")
    try:
        wait_ready(server)
        rss: list[int] = []
        results: list[tuple[int, float]] = []
        for _ in range(ROUNDS + 1):  # the first round warms caches and lazy loads
            with ThreadPoolExecutor(CLIENTS) as pool:
                for rows in pool.map(lambda n: _client(server.url, n), range(CLIENTS)):
                    results.extend(rows)
            rss.append(_rss_kb(server.proc.pid))
        statuses = [s for s, _ in results]
        latencies = sorted(ms for _, ms in results)
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(f"\nload: {len(results)} requests, p50 {statistics.median(latencies):.0f} ms, "
              f"p95 {p95:.0f} ms, RSS after rounds (kB): {rss}")  # fmt: skip
        assert statuses.count(200) == len(statuses) == CLIENTS * PER_CLIENT * (ROUNDS + 1)
        # Memory is flat after warm-up: later rounds add little (no per-request leak).
        assert rss[-1] - rss[1] < 0.10 * rss[1], rss
    finally:
        stop_servers(server)
