"""The background checkpoint writer: coalescing, ordering, verification, errors, new streams."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from indexers.checkpoint import Checkpointer, Mark


class Lost(Exception):
    pass


class Store:
    """Records saves and verifications; each waits until ``gate`` is open (a slow, queued
    MongoDB write), so a test decides when a write in flight completes."""

    def __init__(self, resumable: bool = True) -> None:
        self.resumable = resumable
        self.gate = asyncio.Event()
        self.gate.set()
        self.saved: list[Any] = []
        self.verified: list[Any] = []
        self.in_flight = 0  # saves and verifications waiting at the gate
        self.most_in_flight = 0

    async def _pass(self) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1

    async def save(self, mark: Mark) -> None:
        await self._pass()
        self.saved.append(mark.token)

    async def verify(self, token: Any) -> bool:
        self.verified.append(token)
        await self._pass()
        return self.resumable


async def until(predicate: Callable[[], bool]) -> None:
    """Yield to the writer until ``predicate`` holds (no wall-clock deadline to race)."""
    for _ in range(10_000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


def checkpointer(store: Store, interval: float = 0.0) -> Checkpointer:
    return Checkpointer(store.save, store.verify, Lost, interval=interval)


def test_marks_never_wait_for_a_slow_save_and_the_newest_wins():
    async def scenario() -> Store:
        store = Store()
        cp = checkpointer(store)
        cp.start("t1")  # t1 is trusted: its save needs no verification
        store.gate.clear()  # the database is slow
        cp.mark("t1", None, caught_up=False, urgent=False)
        await until(lambda: store.in_flight == 1)  # t1 is being written
        for n in range(2, 51):
            cp.mark(f"t{n}", None, caught_up=False, urgent=False)  # plain call: cannot wait
        store.gate.set()
        await cp.drain()
        await cp.close()
        return store

    store = asyncio.run(scenario())
    assert store.saved == ["t1", "t50"]  # coalesced: the newest mark replaced t2 … t49
    assert store.verified == ["t1"]  # t50 was saved after checking t1 was still resumable
    assert store.most_in_flight == 1


def test_each_save_first_verifies_the_previous_token():
    async def scenario() -> Store:
        store = Store()
        cp = checkpointer(store)
        cp.start("t0")
        for token in ("t1", "t2"):
            cp.mark(token, None, caught_up=False, urgent=True)
            await cp.drain()
        await cp.close()
        return store

    store = asyncio.run(scenario())
    assert store.verified == ["t0", "t1"]
    assert store.saved == ["t1", "t2"]


def test_a_pruned_position_stops_the_writer_and_surfaces_at_the_next_mark():
    async def scenario() -> None:
        store = Store(resumable=False)
        cp = checkpointer(store)
        cp.start("t0")
        cp.mark("t1", None, caught_up=False, urgent=True)
        with pytest.raises(Lost):
            await cp.drain()
        assert store.saved == []
        cp.start("fresh")  # the sync loop opened a fresh stream: a new writer
        store.resumable = True
        cp.mark("f1", None, caught_up=False, urgent=True)
        await cp.drain()
        await cp.close()
        assert store.saved == ["f1"] and store.verified[-1] == "fresh"

    asyncio.run(scenario())


def test_the_interval_spaces_saves_unless_urgent():
    async def scenario() -> tuple[list[Any], list[Any]]:
        store = Store()
        cp = checkpointer(store, interval=10.0)
        cp.start("t0")
        cp.mark("t1", None, caught_up=False, urgent=False)
        await until(lambda: store.saved == ["t1"])  # the first save is not held back
        cp.mark("t2", None, caught_up=False, urgent=False)
        await asyncio.sleep(0.05)  # (a slower machine only holds it back longer)
        held = list(store.saved)
        cp.mark("t3", None, caught_up=True, urgent=True)
        await cp.drain()
        await cp.close()
        return held, store.saved

    held, saved = asyncio.run(scenario())
    assert held == ["t1"]
    assert saved == ["t1", "t3"]


def test_a_save_of_an_abandoned_stream_neither_fails_nor_counts():
    async def scenario() -> None:
        store = Store(resumable=False)
        store.gate.clear()
        cp = checkpointer(store)
        cp.start("old")
        cp.mark("old1", None, caught_up=False, urgent=True)
        await until(lambda: store.in_flight == 1)  # "old" is being verified: not resumable
        cp.start("new")  # meanwhile the sync loop moved to a new stream
        store.gate.set()
        await until(lambda: store.in_flight == 0)
        await asyncio.sleep(0)  # the writer takes the verification's answer
        store.resumable = True
        cp.raise_error()  # the old stream's failure is not reported
        cp.mark("new1", None, caught_up=False, urgent=True)
        await cp.drain()
        await cp.close()
        assert store.saved == ["new1"]

    asyncio.run(scenario())


def test_a_writer_closed_mid_save_restarts_clean():
    async def scenario() -> list[Any]:
        store = Store()
        store.gate.clear()
        cp = checkpointer(store)
        cp.start("t0")
        cp.mark("t1", None, caught_up=False, urgent=True)
        await until(lambda: store.in_flight == 1)  # the write is in progress
        await cp.close()  # the session ends (an error): t1 is dropped, to be replayed
        store.gate.set()
        cp.start("t0")
        await asyncio.wait_for(cp.drain(), 2)  # nothing pending: returns at once
        cp.mark("t2", None, caught_up=False, urgent=True)
        await asyncio.wait_for(cp.drain(), 2)
        await cp.close()
        return store.saved

    assert asyncio.run(scenario()) == ["t2"]
