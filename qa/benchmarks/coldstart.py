"""Cold start: a fresh `qa ask` process against an import of chromadb in a fresh interpreter.

Each run is a new process (nothing warm but the OS page cache, which the floor enjoys too),
timed from launch until it prints (unbuffered): the answer for `qa ask`, a word after
`import chromadb` for the floor. The time until the process has exited is kept too:
interpreter teardown is not part of the answer, but it is reported. The runs alternate
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


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from launch to the first byte of output, and to the process's exit."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.read(1)
    printed = time.perf_counter() - t
    _, err = proc.communicate(timeout=120)
    exited = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}): {err.decode()}")
    return printed, exited


def bench_cold_start(data_dir: Path, question: str, runs: int = 3) -> dict[str, Any]:
    env = {
        **os.environ,
        "QA_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    ask = [*qa_command(), "ask", question]
    floor = [sys.executable, "-c", "import chromadb; print('imported')"]
    _timed(floor, env)  # the first launch of anything pays for cold file caches
    _timed(ask, env)
    ask_s: list[tuple[float, float]] = []
    floor_s: list[tuple[float, float]] = []
    for _ in range(runs):
        floor_s.append(_timed(floor, env))
        ask_s.append(_timed(ask, env))
    seconds, floor_seconds = median(a for a, _ in ask_s), median(f for f, _ in floor_s)
    return {
        "seconds": round(seconds, 2),
        "floor_seconds": round(floor_seconds, 2),
        "ratio": ratio(seconds, floor_seconds),
        "exit_seconds": round(median(e for _, e in ask_s), 2),
        "floor_exit_seconds": round(median(e for _, e in floor_s), 2),
        "runs": runs,
        "all_seconds": [round(a, 2) for a, _ in ask_s],
        "all_floor_seconds": [round(f, 2) for f, _ in floor_s],
        "command": "qa ask " + repr(question),
        "floor": "python -c \"import chromadb; print('imported')\"",
    }
