"""Cold start: a fresh `qa ask` process against an import of chromadb in a fresh interpreter.

Each run is a new process (nothing warm but the OS page cache, which the floor enjoys too),
timed from launch until its output is complete and it has exited. The runs alternate
between the command and its floor so that load from elsewhere on the machine hits both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

from qa.benchmarks.stats import qa_command, ratio


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed ({done.returncode}): {done.stderr}")
    return elapsed


def bench_cold_start(data_dir: Path, question: str, runs: int = 3) -> dict[str, Any]:
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    ask = [*qa_command(), "ask", question]
    floor = [sys.executable, "-c", "import chromadb"]
    _timed(floor, env)  # the first launch of anything pays for cold file caches
    _timed(ask, env)
    ask_s: list[float] = []
    floor_s: list[float] = []
    for _ in range(runs):
        floor_s.append(_timed(floor, env))
        ask_s.append(_timed(ask, env))
    seconds, floor_seconds = median(ask_s), median(floor_s)
    return {
        "seconds": round(seconds, 2),
        "floor_seconds": round(floor_seconds, 2),
        "ratio": ratio(seconds, floor_seconds),
        "runs": runs,
        "all_seconds": [round(s, 2) for s in ask_s],
        "all_floor_seconds": [round(s, 2) for s in floor_s],
        "command": "qa ask " + repr(question),
        "floor": 'python -c "import chromadb"',
    }
