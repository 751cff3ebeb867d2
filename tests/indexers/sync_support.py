"""Helpers of the sync-indexer and reindex tests: raw customers, a writer, index == MongoDB checks.

Documents are written raw through PyMongo in the ``app/models.py`` storage shape; what the
indexer sees is exactly what the service would write.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pymongo import AsyncMongoClient

from indexers.backends.base import (
    ApplyResult,
    BackendUnavailable,
    Delete,
    IncompatibleIndex,
    SearchBackend,
    Upsert,
)
from indexers.documents import SearchDoc, to_search_doc, version_from_timestamp

if TYPE_CHECKING:
    from indexers.sync import Indexer

SECANTUSD = Path(sys.executable).with_name("secantusd-py")


def now() -> datetime:
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond - t.microsecond % 1000)


def with_database(uri: str, database_name: str, body: Callable[[Any], Awaitable[None]]) -> None:
    """Run ``body(database)`` with a client of its own, closed after."""

    async def main() -> None:
        mongo = client(uri)
        try:
            await body(mongo[database_name])
        finally:
            await mongo.close()

    asyncio.run(main())


def raw_customer(n: int, **fields: Any) -> dict[str, Any]:
    """A ``customers`` document in the storage shape, numbered ``n``."""
    at = now()
    doc: dict[str, Any] = {
        "_id": f"cus_{n:07d}",
        "email": f"user{n}@example.com",
        "first_name": random.choice(["Ann", "Bob", "Cleo", "Dmitri"]),
        "last_name": random.choice(["Smith", "Jones", "Okafor", "Nakamura"]),
        "company_name": None,
        "phone": f"+1 555 {n:07d}",
        "phone_digits": f"1555{n:07d}",
        "has_account": n % 3 == 0,
        "created_by": None,
        "metadata": None,
        "created_at": at,
        "updated_at": at,
        "deleted_at": None,
        "version": 1,
        "addresses": [],
        "groups": [],
    }
    doc.update(fields)
    return doc


async def until(predicate: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Poll ``predicate`` (sync or async) until it is true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


class Running:
    """An indexer running as a task of this loop (as in ``customers serve``)."""

    def __init__(self, indexer: Indexer) -> None:
        self.indexer = indexer
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(indexer.run(self.stop_event))

    async def stop(self) -> None:
        """Stop it and wait until it has saved its checkpoint and released the lease."""
        self.stop_event.set()
        await self.task


@contextlib.asynccontextmanager
async def running(
    indexer: Indexer, *, wait_for: str | None = "active", close: bool = True
) -> AsyncIterator[Running]:
    """Run ``indexer`` for the block: first wait until it is ``wait_for`` (``"active"``,
    ``"ready"``, ``"caught_up"``; None: do not wait); at the end stop it and, unless
    ``close`` is False, close its backend."""
    run = Running(indexer)
    try:
        if wait_for is not None:
            await until(lambda: getattr(indexer, wait_for), timeout=20)
        yield run
    finally:
        await run.stop()
        if close:
            await indexer.backend.close()


def client(uri: str) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(uri, tz_aware=True)


class Writer:
    """Mixed creates / updates / soft deletes / hard deletes against ``customers``."""

    def __init__(self, collection: Any, *, seed: int = 7, start: int = 0) -> None:
        self.collection = collection
        self.rng = random.Random(seed)
        self.next_n = start
        self.live: list[str] = []
        self.ops = 0

    async def step(self) -> None:
        roll = self.rng.random()
        self.ops += 1
        if roll < 0.45 or len(self.live) < 5:
            doc = raw_customer(self.next_n)
            self.next_n += 1
            await self.collection.insert_one(doc)
            self.live.append(doc["_id"])
        elif roll < 0.75:
            target = self.rng.choice(self.live)
            await self.collection.update_one(
                {"_id": target},
                {
                    "$set": {"first_name": f"N{self.ops}", "updated_at": now()},
                    "$inc": {"version": 1},
                    "$push": {
                        "groups": {
                            "id": f"cusgc_{self.ops}",
                            "customer_group_id": f"cusgroup_{self.ops % 4}",
                            "deleted_at": None,
                        }
                    },
                },
            )
        elif roll < 0.85:
            target = self.rng.choice(self.live)
            await self.collection.update_one(
                {"_id": target}, {"$set": {"deleted_at": now(), "updated_at": now()}}
            )
        else:
            target = self.live.pop(self.rng.randrange(len(self.live)))
            await self.collection.delete_one({"_id": target})

    async def run(self, count: int, *, pause: float = 0.0) -> None:
        for _ in range(count):
            await self.step()
            if pause:
                await asyncio.sleep(pause)


async def last_event_versions(collection: Any, token: Any) -> dict[str, int]:
    """Replay the change stream from ``token``: id → version of its last event (deleted: absent)."""
    versions: dict[str, int] = {}
    async with await collection.watch(resume_after=token, max_await_time_ms=50) as stream:
        while True:
            event = await stream.try_next()
            if event is None:
                break
            key = event["documentKey"]["_id"]
            if event["operationType"] == "delete":
                versions.pop(key, None)
            else:
                versions[key] = version_from_timestamp(event["clusterTime"])
    return versions


async def assert_index_matches(
    collection: Any,
    backend: SearchBackend,
    *,
    versions: dict[str, int] | None = None,
) -> None:
    """The live index documents are exactly MongoDB's customers (and at ``versions`` if given)."""
    await backend.refresh()
    mongo = {d["_id"]: d async for d in collection.find({})}
    index = await backend.versions(None)
    missing = sorted(set(mongo) - set(index))
    stray = sorted(set(index) - set(mongo))
    assert not missing and not stray, f"missing={missing[:10]} stray={stray[:10]}"
    assert await backend.count() == len(mongo)
    if versions is not None:
        wrong = {i: (index[i], versions.get(i)) for i in mongo if index[i] != versions.get(i)}
        assert not wrong, f"{len(wrong)} versions differ, e.g. {list(wrong.items())[:5]}"
    stored = await backend.documents(list(mongo))  # content, not only ids and versions
    for customer_id, raw in mongo.items():
        expected = to_search_doc(raw, index[customer_id])
        assert stored[customer_id] == expected, customer_id


class FlakyBackend(SearchBackend):
    """Wraps a backend: ``down`` makes writes raise BackendUnavailable; ``reject`` ids;
    writes and refreshes raise IncompatibleIndex while ``incompatible`` is the active
    generation."""

    def __init__(self, inner: SearchBackend) -> None:
        self.inner = inner
        self.down = False
        self.reject: set[str] = set()
        self.failures = 0
        self.incompatible: str | None = None

    async def _check_schema(self) -> None:
        if self.incompatible and await self.inner.active_generation() == self.incompatible:
            self.failures += 1
            raise IncompatibleIndex(f"test: {self.incompatible} has another schema")

    async def apply(self, ops: Sequence[Upsert | Delete]) -> ApplyResult:
        await self._check_schema()
        if self.down:
            self.failures += 1
            raise BackendUnavailable("test: backend down")
        keep = [op for op in ops if op.id not in self.reject]
        result = await self.inner.apply(keep)
        result.rejected.extend((op.id, "test: rejected") for op in ops if op.id in self.reject)
        return result

    async def refresh(self) -> None:
        await self._check_schema()
        if self.down:
            raise BackendUnavailable("test: backend down")
        await self.inner.refresh()

    async def release_writer(self) -> None:
        await self.inner.release_writer()

    async def documents(self, ids: Sequence[str]) -> dict[str, SearchDoc]:
        return await self.inner.documents(ids)

    async def versions(self, ids=None):  # type: ignore[no-untyped-def]
        return await self.inner.versions(ids)

    async def count(self) -> int:
        return await self.inner.count()

    async def list_ids(self, query):  # type: ignore[no-untyped-def]
        return await self.inner.list_ids(query)

    async def list_documents(self, query):  # type: ignore[no-untyped-def]
        return await self.inner.list_documents(query)

    async def search(self, query):  # type: ignore[no-untyped-def]
        return await self.inner.search(query)

    async def create_generation(self) -> str:
        return await self.inner.create_generation()

    def writer_for(self, generation: str) -> SearchBackend:
        return self.inner.writer_for(generation)

    async def activate(self, generation: str) -> None:
        await self.inner.activate(generation)

    async def drop_generation(self, generation: str) -> None:
        await self.inner.drop_generation(generation)

    async def generations(self) -> list[str]:
        return await self.inner.generations()

    async def active_generation(self) -> str | None:
        return await self.inner.active_generation()

    async def close(self) -> None:
        await self.inner.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dedicated_server(*extra: str) -> Iterator[str]:
    """A private in-memory SecantusDB with its own flags (e.g. a tiny oplog cap)."""
    with dedicated_server_process(*extra) as (uri, _process):
        yield uri


@contextlib.contextmanager
def dedicated_server_process(*extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """:func:`dedicated_server`, with its process (to stop it with SIGSTOP, say)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            str(SECANTUSD),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            ":memory:",
            "--log-level",
            "WARNING",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("secantusd-py did not start")
            time.sleep(0.05)
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false", proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # in case the test left it stopped
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
