"""Small helpers shared by the benchmark modules: percentiles, the machine, child processes."""

from __future__ import annotations

import math
import os
import platform
import socket
import sys
from collections.abc import Sequence
from pathlib import Path


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sequence."""
    import numpy

    if not values:
        raise ValueError("percentile of no values")
    return float(numpy.percentile(values, q))


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "mean_ms": round(sum(ms) / len(ms), 2),
    }


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b > 0 else math.inf


def _mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return 0.0


def machine_info() -> dict[str, str | int | float]:
    import numpy
    import torch

    return {
        "uname": " ".join(platform.uname()),
        "cores": os.cpu_count() or 0,
        "memory_gib": _mem_total_gib(),
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "torch_threads": torch.get_num_threads(),
        "numpy": numpy.__version__,
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def machine_line(info: dict[str, str | int | float]) -> str:
    return (
        f"{info['uname']}; {info['cores']} cores; {info['memory_gib']} GiB; "
        f"Python {info['python']}; torch {info['torch']}"
    )


def qa_command() -> list[str]:
    """How to launch `qa` in a fresh process: the console script beside this interpreter."""
    script = Path(sys.executable).with_name("qa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "qa.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a live process (VmHWM), or its current RSS where no peak exists."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    try:
        import psutil
    except ImportError:
        return math.nan
    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
