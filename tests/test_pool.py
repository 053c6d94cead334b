"""The bounded pool of workers that carries out a request's instances (lib/runner/pool.py)."""

from __future__ import annotations

import asyncio

from lib.runner.pool import Pool


class Tracker:
    """Work that records how many items are in progress at once, and waits until told to go on."""

    def __init__(self) -> None:
        self.busy = 0
        self.most = 0
        self.go = asyncio.Event()

    async def work(self, item: int) -> str:
        self.busy += 1
        self.most = max(self.most, self.busy)
        await self.go.wait()
        self.busy -= 1
        return f"done {item}"


async def test_at_most_limit_items_are_in_progress_and_results_keep_the_order_they_were_added_in() -> None:
    tracker = Tracker()
    pool: Pool[int, str] = Pool(tracker.work, limit=3)
    for item in range(10):
        pool.add(item)
    await asyncio.sleep(0)
    assert tracker.busy == 3  # the other seven wait for a worker, not as tasks of their own
    tracker.go.set()
    assert await pool.results() == [f"done {i}" for i in range(10)]
    assert tracker.most == 3


async def test_items_added_after_the_workers_ran_dry_are_carried_out_too() -> None:
    tracker = Tracker()
    tracker.go.set()
    pool: Pool[int, str] = Pool(tracker.work, limit=2)
    pool.add(0)
    await asyncio.sleep(0.01)  # the first worker finished and ended: nothing was left
    for item in (1, 2, 3):  # the next page of the listing
        pool.add(item)
    assert await pool.results() == ["done 0", "done 1", "done 2", "done 3"]


async def test_without_a_limit_every_item_is_in_progress_at_once() -> None:
    tracker = Tracker()
    pool: Pool[int, str] = Pool(tracker.work, limit=None)
    for item in range(25):
        pool.add(item)
    await asyncio.sleep(0)
    assert tracker.busy == 25  # a wait for jobs keeps every instance's waiting going
    tracker.go.set()
    assert len(await pool.results()) == 25
