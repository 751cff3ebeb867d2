"""Database outages under a real `customers serve`: fail fast with 503, recover by themselves.

- The embedded MongoDB is SIGKILLed while clients write through HTTP: the watchdog restarts it
  on its port, the API answers again within 10 s with no manual action, every write that got a
  200 is in MongoDB, and the index equals MongoDB (ids and versions) without a full reindex.
- An external MongoDB (MONGODB_URI) goes away: every request answers 503 with ``{type,
  message}`` and ``Retry-After`` within ~2 s, and the API recovers when it is back.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from bson.timestamp import Timestamp
from pymongo import MongoClient

from app import embedded
from app.config import Settings
from app.db import new_client
from app.embedded import EmbeddedServer
from indexers.backends import open_backend
from indexers.documents import version_from_timestamp
from tests.api.serve_support import Reply, Serve, admin_headers, serve_env
from tests.indexers.sync_support import assert_index_matches

WRITERS = 4
RECOVERY_SECONDS = 10.0  # the API must answer again within this after the kill


class WriteLoad:
    """Threads creating customers through HTTP; remembers every acknowledged (200) write."""

    def __init__(self, server: Serve) -> None:
        self.server = server
        self.headers = admin_headers()
        self.acknowledged: dict[str, float] = {}  # customer id -> when the 200 arrived
        self.refused: list[Reply] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(WRITERS)
        ]

    def __enter__(self) -> WriteLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _write(self, writer: int) -> None:
        n = 0
        while not self._stop.is_set():
            body = {"email": f"w{writer}-{n}@example.com", "first_name": f"Writer{writer}"}
            reply = self.server.request("POST", "/admin/customers", body, self.headers)
            n += 1
            with self._lock:
                if reply.status == 200:
                    self.acknowledged[reply.body["customer"]["id"]] = time.monotonic()
                else:
                    self.refused.append(reply)
                    time.sleep(0.05)

    def first_success_after(self, moment: float, timeout: float) -> float | None:
        """Seconds from ``moment`` to the first 200 after it (None if none within ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                after = [t for t in self.acknowledged.values() if t > moment]
            if after:
                return min(after) - moment
            time.sleep(0.05)
        return None


def kill_embedded_mongodb(data: Path) -> dict[str, Any]:
    """SIGKILL the embedded server of ``data``; return its state (pid, port) from before."""
    state = json.loads((data / "run" / "mongodb.json").read_text())
    os.kill(state["pid"], signal.SIGKILL)
    return state


async def index_matches_mongodb(data: Path) -> None:
    """The search index of ``data`` has exactly MongoDB's customers, each at the version of its
    last change (the cluster time of its last oplog event)."""
    with EmbeddedServer(data, supervise=False) as mongo:
        client = new_client(mongo.uri)
        backend = open_backend(Settings(data_dir=data))
        try:
            customers = client.customers.customers
            versions: dict[str, int] = {}
            async with await customers.watch(
                start_at_operation_time=Timestamp(1, 0), max_await_time_ms=100
            ) as stream:
                while (event := await stream.try_next()) is not None:
                    versions[event["documentKey"]["_id"]] = version_from_timestamp(
                        event["clusterTime"]
                    )
            await assert_index_matches(customers, backend, versions=versions)
        finally:
            await backend.close()
            await client.close()


def caught_up(uri: str) -> bool:
    """Whether the indexer's saved checkpoint covers every customer change."""
    from indexers.oplog import scoped_token

    with MongoClient(uri, serverSelectionTimeoutMS=2000) as client:
        state = client.customers.indexer_state.find_one({"_id": "customers"}) or {}
        if state.get("resume_token") is None:
            return False
        token = scoped_token(state["resume_token"], "customers.customers")
        with client.customers.customers.watch(resume_after=token, max_await_time_ms=50) as stream:
            return stream.try_next() is None


def first_index_built(data: Path) -> dict[str, Any]:
    """Wait for the first start's index build to finish; return what it recorded."""
    state = json.loads((data / "run" / "mongodb.json").read_text())
    deadline = time.monotonic() + 60
    with MongoClient(embedded._uri(state["port"])) as client:
        while True:
            doc = client.customers.indexer_state.find_one({"_id": "customers"}) or {}
            if doc.get("last_reindex"):
                return doc["last_reindex"]
            assert time.monotonic() < deadline, "the first index build did not finish"
            time.sleep(0.1)


@pytest.mark.slow
def test_sigkill_of_the_embedded_database_during_a_write_load(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = Serve(serve_env(data)).start()
    try:
        generation = first_index_built(data)
        with WriteLoad(server) as load:
            time.sleep(2)
            before = len(load.acknowledged)
            killed_at = time.monotonic()
            dead = kill_embedded_mongodb(data)
            recovery = load.first_success_after(killed_at, timeout=30)
            time.sleep(2)
        assert before > 0 and recovery is not None and recovery < RECOVERY_SECONDS, recovery
        assert {reply.status for reply in load.refused} <= {503}  # never a 500, never a hang
        assert all(r.body["type"] == "unexpected_state" for r in load.refused)

        now = json.loads((data / "run" / "mongodb.json").read_text())
        assert now["pid"] != dead["pid"] and now["port"] == dead["port"]  # restarted in place
        uri = embedded._uri(now["port"])
        with MongoClient(uri) as client:
            stored = set(client.customers.customers.distinct("_id"))
            state = client.customers.indexer_state.find_one()
        assert set(load.acknowledged) <= stored  # 0 acknowledged writes lost
        assert state["last_reindex"] == generation  # resumed from its checkpoint: no reindex
        assert state["reindex_required"] is None

        deadline = time.monotonic() + 60
        while not caught_up(uri):
            assert time.monotonic() < deadline, "the indexer did not catch up"
            time.sleep(0.2)
        server.signal(signal.SIGTERM)
        assert server.wait(60) == 0
    finally:
        server.close()
    asyncio.run(index_matches_mongodb(data))


@pytest.mark.slow
def test_an_external_mongodb_down_is_a_fast_503_and_the_api_recovers_when_it_is_back(
    tmp_path: Path,
) -> None:
    mongo = EmbeddedServer(tmp_path / "mongo", supervise=False).start()  # "external": not ours
    assert mongo.pid is not None
    env = serve_env(tmp_path / "data", MONGODB_URI=mongo.uri, CUSTOMERS_INDEXER="off")
    server = Serve(env).start()
    back: EmbeddedServer | None = None
    try:
        headers = admin_headers()
        created = server.request("POST", "/admin/customers", {"email": "kept@x.io"}, headers)
        assert created.status == 200
        customer = created.body["customer"]["id"]

        os.kill(mongo.pid, signal.SIGKILL)
        assert embedded._wait_gone(mongo.pid, None, None, 10)
        calls = [
            ("GET", "/admin/customers?limit=5", None),
            ("GET", f"/admin/customers/{customer}", None),
            ("POST", "/admin/customers", {"email": "during@x.io"}),
            ("POST", f"/admin/customers/{customer}", {"first_name": "Outage"}),
        ]
        for method, path, body in calls:
            reply = server.request(method, path, body, headers)
            assert reply.status == 503, (path, reply)
            assert reply.body["type"] == "unexpected_state" and reply.body["message"]
            assert reply.headers["Retry-After"] == "1"
            assert reply.seconds < 3.0, (path, reply.seconds)

        back = EmbeddedServer(tmp_path / "mongo", supervise=False).start()
        assert back.port == mongo.port  # the same address, as a restarted MongoDB would be
        deadline = time.monotonic() + 10
        while (
            reply := server.request("GET", f"/admin/customers/{customer}", None, headers)
        ).status != 200:
            assert reply.status == 503 and time.monotonic() < deadline, reply
            time.sleep(0.2)
        assert reply.body["customer"]["email"] == "kept@x.io"
        during = server.request("GET", "/admin/customers?email=during@x.io", None, headers)
        assert during.body["count"] == 0  # the refused write left nothing behind
    finally:
        server.close()
        mongo.stop()
        if back is not None:
            back.stop()
