"""Where the server answers: worker threads, at most a fixed number at once.

Answering a question is CPU-bound Python. Run in the shared thread pool (40 threads),
sixteen concurrent requests become sixteen threads taking turns at the interpreter lock:
each waits for all the others, and the server answers fewer questions a second than one
thread would. A limiter of one thread per core keeps the cores busy and the rest queued.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import TypeVar

import anyio
import anyio.to_thread

from qa.answer import Checking

T = TypeVar("T")
_END = object()


class Workers:
    def __init__(self, n: int = 0) -> None:
        self.n = n or os.cpu_count() or 1
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, fn: Callable[[], T]) -> T:
        """`fn()` in a worker thread, once one of the `n` is free."""
        if self._limiter is None:  # made in the server's event loop, on first use
            self._limiter = anyio.CapacityLimiter(self.n)
        return await anyio.to_thread.run_sync(fn, limiter=self._limiter)

    async def each(self, events: Iterator[T]) -> AsyncIterator[T]:
        """The items of a synchronous answer stream, each computed in a worker thread under
        the limit, as `run` computes a whole answer. The item after a `Checking` event is
        careful mode's check, which waits seconds on the model's backend and computes
        nothing here: it waits in the shared pool, not holding a core's worker."""
        waiting = False
        while True:
            pull = partial(next, events, _END)
            if waiting:
                item = await anyio.to_thread.run_sync(pull)
            else:
                item = await self.run(pull)
            if item is _END:
                return
            waiting = isinstance(item, Checking)
            yield item
