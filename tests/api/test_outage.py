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
import time
from pathlib import Path

import pytest
from bson.timestamp import Timestamp
from pymongo import MongoClient

from app.config import Settings
from app.db import new_client
from app.embedded import EmbeddedServer, launch, probes
from indexers.backends import open_backend
from indexers.documents import version_from_timestamp
from tests.api.serve_support import (
    Serve,
    WriteLoad,
    admin_headers,
    caught_up,
    first_index_built,
    kill_embedded_mongodb,
    serve_env,
)
from tests.indexers.sync_support import assert_index_matches

RECOVERY_SECONDS = 10.0  # the API must answer again within this after the kill


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
        uri = probes.loopback_uri(now["port"])
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
        assert launch.wait_gone(mongo.pid, None, None, 10)
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
        assert during.status == 200, during.body["message"]
        assert during.body["count"] == 0  # the refused write left nothing behind
    finally:
        server.close()
        mongo.stop()
        if back is not None:
            back.stop()
