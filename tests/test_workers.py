"""The server's answer threads: at most `n` answers run at once, the rest wait their turn."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import cast

import anyio

from qa.answer import Answer, Checking
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


def test_a_stream_is_computed_step_by_step_on_the_workers() -> None:
    """Eight streams of three steps each: every step runs on a worker (never more than two
    at once) and every stream yields all its items in order."""
    workers = Workers(2)
    running, most = 0, 0
    lock = threading.Lock()

    def steps(s: int) -> Iterator[int]:
        nonlocal running, most
        for i in range(3):
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.02)
            with lock:
                running -= 1
            yield s * 10 + i

    got: dict[int, list[int]] = {}

    async def main() -> None:
        async def one(s: int) -> None:
            got[s] = [x async for x in workers.each(steps(s))]

        async with anyio.create_task_group() as tg:
            for s in range(8):
                tg.start_soon(one, s)

    anyio.run(main)
    assert got == {s: [s * 10, s * 10 + 1, s * 10 + 2] for s in range(8)}
    assert most == 2


def test_careful_mode_s_check_waits_outside_the_workers() -> None:
    """The step after a Checking event (the model's check, a wait on its backend) does not
    take a worker: with one worker, two streams can both be waiting in their checks."""
    workers = Workers(1)
    both = threading.Barrier(2, timeout=10)

    def careful() -> Iterator[object]:
        yield Checking(cast(Answer, None))
        both.wait()  # only returns when the other stream's check is waiting too
        yield "checked"

    got: list[list[object]] = []

    async def main() -> None:
        async def one() -> None:
            got.append([x async for x in workers.each(careful())])

        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
            tg.start_soon(one)

    anyio.run(main)
    assert [items[-1] for items in got] == ["checked", "checked"]
