"""The search gate: admission control and the time budget (asyncio only, no I/O)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from pymongo.errors import ExecutionTimeout

from app.errors import Unavailable
from app.service.admission import SearchGate, max_time_ms, note_arrival, response_margin


def run(body: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(body())


def test_searches_beyond_the_slots_wait_briefly_then_are_refused() -> None:
    async def body() -> None:
        gate = SearchGate(concurrency=2, budget=5, queue_wait=0.2)
        release = asyncio.Event()

        async def holding() -> str:
            await release.wait()
            return "done"

        running = [asyncio.create_task(gate.search(holding)) for _ in range(2)]
        await asyncio.sleep(0.01)
        assert gate.running == 2
        waiting = asyncio.create_task(gate.search(holding))  # the one allowed to wait
        await asyncio.sleep(0.01)
        with pytest.raises(Unavailable) as busy:  # the waiting room (concurrency // 2) is full
            await gate.search(holding)
        assert busy.value.type == "unexpected_state" and busy.value.retry_after >= 1
        assert "Too many searches" in busy.value.message
        with pytest.raises(Unavailable):  # still waiting after queue_wait: refused
            await waiting
        release.set()
        assert await asyncio.gather(*running) == ["done", "done"]
        assert gate.running == 0

    run(body)


def test_a_waiting_search_gets_the_slot_a_finished_one_frees() -> None:
    async def body() -> None:
        gate = SearchGate(concurrency=1, budget=5, queue_wait=2)
        release = asyncio.Event()

        async def first() -> int:
            await release.wait()
            return 1

        async def second() -> int:
            return 2

        a = asyncio.create_task(gate.search(first))
        await asyncio.sleep(0.01)
        b = asyncio.create_task(gate.search(second))
        await asyncio.sleep(0.01)
        assert not b.done()
        release.set()
        assert list(await asyncio.gather(a, b)) == [1, 2]
        assert gate.running == 0

    run(body)


def test_a_search_keeps_its_slot_until_its_work_ends_even_when_its_caller_left() -> None:
    async def body() -> None:
        gate = SearchGate(concurrency=1, budget=5, queue_wait=2)
        finish = asyncio.Event()
        holder = asyncio.create_task(gate.search(finish.wait))
        await asyncio.sleep(0.01)
        waiter = asyncio.create_task(gate.search(finish.wait))
        await asyncio.sleep(0.01)
        waiter.cancel()  # cancelled while waiting: it never held a slot
        holder.cancel()  # its caller left, but the work runs on (it cannot be stopped midway)
        await asyncio.gather(holder, waiter, return_exceptions=True)
        assert gate.running == 1
        finish.set()
        await asyncio.sleep(0.01)
        assert gate.running == 0

        async def quick() -> str:
            return "ok"

        assert await gate.search(quick) == "ok"

    run(body)


def test_a_search_over_the_budget_is_unavailable_naming_the_budget() -> None:
    async def body() -> None:
        gate = SearchGate(concurrency=1, budget=0.05)
        finish = asyncio.Event()

        with pytest.raises(Unavailable) as info:
            await gate.search(finish.wait)
        assert "0.05 s budget" in info.value.message
        assert gate.running == 1  # until the (bounded) work ends by itself
        finish.set()
        await asyncio.sleep(0.01)
        assert gate.running == 0

    run(body)


def test_mongodb_calls_get_what_is_left_of_the_budget() -> None:
    async def body() -> None:
        gate = SearchGate(concurrency=1, budget=3)
        assert max_time_ms() is None  # outside a search: no limit

        async def inside() -> int | None:
            return max_time_ms()

        left = await gate.bounded(inside)
        assert left is not None and 2_500 < left <= 3_000

        async def timed_out() -> None:
            raise ExecutionTimeout("operation exceeded time limit", 50)

        with pytest.raises(Unavailable) as info:
            await gate.search(timed_out)
        assert "3 s budget" in info.value.message

    run(body)


def test_other_errors_pass_through() -> None:
    async def body() -> None:
        gate = SearchGate(concurrency=1, budget=3)

        async def fails() -> None:
            raise TimeoutError("not ours")

        with pytest.raises(TimeoutError):
            await gate.search(fails)
        assert gate.running == 0

    run(body)


def test_a_scan_keeps_its_slot_until_it_ends_even_when_its_caller_gave_up() -> None:
    async def body() -> None:
        gate = SearchGate(concurrency=4, budget=0.05, queue_wait=0.01)
        release = asyncio.Event()
        ended: list[str] = []

        async def scan() -> str:
            await release.wait()  # the database is still at it
            ended.append("scan")
            return "late"

        with pytest.raises(Unavailable) as over:  # the caller stops waiting at the budget
            await gate.search(lambda: gate.scan(scan))
        assert "budget" in over.value.message
        assert gate.running == 1 and gate.scans.busy == 1  # ... but the scan goes on

        async def another() -> str:
            return "never"

        with pytest.raises(Unavailable) as busy:
            await gate.search(lambda: gate.scan(another))
        assert "cannot answer" in busy.value.message
        release.set()
        for _ in range(10):
            await asyncio.sleep(0)
        assert ended == ["scan"] and gate.scans.busy == 0 and gate.running == 0
        assert await gate.search(lambda: gate.scan(another)) == "never"

    run(body)


def test_the_budget_counts_from_the_arrival_of_the_request() -> None:
    async def body() -> None:
        gate = SearchGate(concurrency=1, budget=1.0)

        async def quick() -> str:
            await asyncio.sleep(0.2)
            return "done"

        note_arrival(time.monotonic())  # just arrived: 0.2 s of 1 s
        assert await gate.search(quick) == "done"
        note_arrival(time.monotonic() - 0.9)  # queued 0.9 s for a thread: 0.1 s left
        with pytest.raises(Unavailable, match="budget"):
            await gate.search(quick)

    # the task of each search copies this context, as a request's coroutine does
    asyncio.run(body())


@pytest.mark.parametrize("claimed", ["1e300", "inf", "nan", "not a time", None])
def test_an_arrival_in_the_future_or_unreadable_counts_as_now(claimed: str | None) -> None:
    async def body() -> str:
        gate = SearchGate(concurrency=1, budget=0.5)
        note_arrival(claimed)

        async def slow() -> str:
            await asyncio.sleep(0.6)
            return "done"

        return await gate.search(slow)

    with pytest.raises(Unavailable, match="budget"):  # never more than the budget itself
        asyncio.run(body())


def test_the_gate_answers_before_the_budget_ends_leaving_time_to_write_the_answer() -> None:
    async def body() -> float:
        gate = SearchGate(concurrency=1, budget=1.0)
        note_arrival(None)
        started = time.monotonic()

        async def forever() -> None:
            await asyncio.sleep(5)

        with pytest.raises(Unavailable, match="budget"):
            await gate.search(forever)
        return time.monotonic() - started

    waited = asyncio.run(body())
    assert response_margin(1.0) == 0.1 and response_margin(10) == 0.25
    assert waited < 1.0  # answered inside the budget, not at its very end
