"""``/health`` (liveness, from the process alone) and ``/health/ready`` (MongoDB, index, lag)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from typing import Any

from pymongo import MongoClient

from app.embedded import EmbeddedServer
from app.webapp import close_app, runtime_of
from indexers.reindex import active_holder
from tests.indexers.sync_support import free_port
from tests.ops.conftest import admin_headers, samples, wait_for


def test_health_answers_while_the_event_loop_is_blocked(make_app) -> None:
    app, _ = make_app()
    client = app.test_client()
    release = threading.Event()

    async def hog() -> None:  # a search that holds the loop (tantivy cannot be interrupted)
        release.wait(30)

    blocked = asyncio.run_coroutine_threadsafe(hog(), runtime_of(app).loop.loop)
    answers: list[Any] = []
    request = threading.Thread(target=lambda: answers.append(client.get("/health")))
    try:
        request.start()
        request.join(10)
        assert answers, "/health waited for the event loop"
        assert answers[0].status_code == 200 and answers[0].json == {"status": "ok"}
    finally:
        release.set()
        blocked.result(10)
        request.join(10)


def test_not_ready_without_the_search_index(make_app) -> None:
    app, _ = make_app()
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    body = response.json
    assert body["type"] == "unexpected_state" and body["status"] == "not_ready"
    assert body["message"].startswith("Not ready: index: not attached in this process")
    assert body["checks"]["mongodb"]["ok"] is True
    assert body["checks"]["index"]["ok"] is False and body["checks"]["indexer"]["ok"] is False


def test_ready_with_the_indexer_in_process_until_closed(
    make_app, mongodb_uri, database_name
) -> None:
    app, _ = make_app(search=True, indexer_enabled=True)
    client = app.test_client()
    response = wait_for(
        lambda: (r := client.get("/health/ready")).status_code == 200 and r, timeout=60
    )
    checks = response.json["checks"]
    assert response.json["status"] == "ready"
    assert checks["index"]["generation"].startswith("g-") and checks["index"]["documents"] == 0
    assert checks["indexer"] == {"ok": True, "where": "this process", "lag_s": 0.0}
    scraped = samples(client.get("/metrics", headers=admin_headers()).get_data(as_text=True))
    index = (("index", "customers"),)
    assert scraped[("customers_indexer_active", index)] == 1.0
    assert scraped[("customers_indexer_lag_seconds", index)] == 0.0
    assert scraped[("customers_indexer_reindexes_total", index)] == 1.0  # the first build
    assert ("customers_indexer_checkpoint_age_seconds", index) in scraped
    indexer = runtime_of(app).indexer
    assert indexer is not None and indexer.active
    close_app(app)
    assert not indexer.active  # it stopped with the app, and released the lease:
    with MongoClient(mongodb_uri) as mongo:
        state = mongo[database_name].indexer_state.find_one({"_id": "customers"})
    assert state is not None and active_holder(state) is None


def test_not_ready_when_the_search_backend_does_not_answer(make_app) -> None:
    app, _ = make_app(search=True, elasticsearch_url=f"http://127.0.0.1:{free_port()}")
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["mongodb"]["ok"] is True
    assert checks["index"]["ok"] is False
    assert "does not answer" in checks["index"]["error"] or "no answer" in checks["index"]["error"]
    assert checks["indexer"]["ok"] is False
    assert "no indexer holds the lease" in checks["indexer"]["error"]


def test_when_mongodb_hangs_liveness_holds_and_readiness_and_metrics_say_so(make_app) -> None:
    with EmbeddedServer.ephemeral() as server:
        assert server.pid is not None
        app, _ = make_app(f"{server.uri}&timeoutMS=1500")
        client = app.test_client()
        assert client.get("/health/ready").json["checks"]["mongodb"]["ok"] is True
        os.kill(server.pid, signal.SIGSTOP)  # a hung server: connections open, nothing answers
        try:
            assert client.get("/health").status_code == 200
            ready = client.get("/health/ready")
            assert ready.status_code == 503 and ready.json["checks"]["mongodb"]["ok"] is False
            assert client.get("/admin/customers", headers=admin_headers()).status_code == 503
        finally:
            os.kill(server.pid, signal.SIGCONT)
        scraped = samples(client.get("/metrics", headers=admin_headers()).get_data(as_text=True))
        errors = [
            v for (name, _), v in scraped.items() if name == "customers_database_errors_total"
        ]
        assert errors == [1.0]
        key = ("method", "GET"), ("route", "/admin/customers"), ("status", "503")
        assert scraped[("customers_http_requests_total", key)] == 1.0
        close_app(app)
