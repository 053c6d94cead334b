"""Working through the instances as the listing hands them on, a bounded number at a time.

A task per instance would hold a whole fleet's coroutines (a dozen frames each) while all but MAX_CONCURRENCY of
them wait for their turn at the limiter: memory and scheduling spent on waiting. Here at most ``limit`` workers
exist; each takes the next instance when it is done with one, in the order they were added, and the results come
back in that order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Pool(Generic[T, R]):
    """``work`` must not raise (a failure is a result); ``limit`` None: a worker per item."""

    def __init__(self, work: Callable[[T], Awaitable[R]], limit: int | None) -> None:
        self._work = work
        self._limit = limit
        self._items: deque[tuple[int, T]] = deque()
        self._results: list[R | None] = []
        self._workers: list[asyncio.Task[None]] = []
        self._running = 0

    def add(self, item: T) -> None:
        self._items.append((len(self._results), item))
        self._results.append(None)
        if self._limit is None or self._running < self._limit:
            self._running += 1
            self._workers.append(asyncio.create_task(self._worker()))

    async def _worker(self) -> None:
        try:
            # A worker that finds nothing left ends; an item added later starts another (no await in between, so
            # no item is ever left without one).
            while self._items:
                n, item = self._items.popleft()
                self._results[n] = await self._work(item)
        finally:
            self._running -= 1

    async def results(self) -> list[R]:
        """Every item's result, in the order they were added, once no more are added."""
        await asyncio.gather(*self._workers)
        out: list[R] = []
        for result in self._results:
            assert result is not None  # every item gets a worker (see _worker)
            out.append(result)
        return out
