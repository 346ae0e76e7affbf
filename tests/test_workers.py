"""The server's answer threads: at most `n` answers run at once, the rest wait their turn."""

from __future__ import annotations

import os
import threading
import time

import anyio

from qa.web.workers import Workers


def test_no_more_than_n_run_at_once_and_every_call_returns() -> None:
    workers = Workers(2)
    running, most = 0, 0
    lock = threading.Lock()

    def work(i: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)  # long enough for all eight to be in flight together, unlimited
        with lock:
            running -= 1
        return i * i

    results: dict[int, int] = {}

    async def main() -> None:
        async def one(i: int) -> None:
            results[i] = await workers.run(lambda: work(i))

        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(one, i)

    anyio.run(main)
    assert results == {i: i * i for i in range(8)}
    assert most == 2


def test_zero_means_one_per_core() -> None:
    assert Workers(0).n == (os.cpu_count() or 1)
    assert Workers(3).n == 3
