"""Hostile searches against a real ``customers serve`` whose lists the search index answers.

The small version of ``scripts/bench_hostile.py``: a few customers plus hostile stored values
(a 1 MB email written raw, as stored before the input limits; names as long as the limits
allow), ``serve`` with its indexer, then deep offsets (the process must survive and go on
serving), and a few clients sending worst-case searches at a server with one search slot and a
low budget while ``/health`` is polled. Assertions are on outcomes with generous time bounds, so
a slow, shared machine does not break them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.credentials import ApiKeys
from app.limits import MAX_Q_CHARS, MAX_Q_WORDS, MAX_TEXT_CHARS
from app.service import CustomerModuleService
from tests.api.test_serve import _free_port

ROOT = Path(__file__).resolve().parents[2]
BUDGET = 1.0
CUSTOMERS = 40


async def _prepare(uri: str, database: str) -> str:
    """Customers, hostile stored values and an API key."""
    service = await CustomerModuleService.connect(uri, database)
    try:
        made = await service.create_customers(
            [
                {"email": f"user{i}@example.com", "first_name": f"Ann{i}", "last_name": "Doe"}
                for i in range(CUSTOMERS)
            ]
        )
        # raw writes: a legacy 1 MB email, and names as long as the limits allow
        await service.store.customers.update_one(
            {"_id": made[0].id},
            {"$set": {"email": "a" * 1_000_000 + "@example.com"}, "$inc": {"version": 1}},
        )
        await service.store.customers.update_one(
            {"_id": made[1].id},
            {"$set": {"first_name": "a" * MAX_TEXT_CHARS, "last_name": "a" * MAX_TEXT_CHARS}},
        )
        _, secret = await ApiKeys(service.database).create("hostile")
        return secret
    finally:
        await service.close()


@pytest.fixture
def served(mongodb_uri: str, database_name: str, tmp_path: Path) -> Iterator[tuple[str, dict]]:
    """``customers serve`` (1 search slot, a 1 s budget) once its index serves the lists."""
    secret = asyncio.run(_prepare(mongodb_uri, database_name))
    port = _free_port()
    env = {
        **os.environ,
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": database_name,
        "CUSTOMERS_DATA_DIR": str(tmp_path / "data"),
        "JWT_SECRET": "hostile-test-secret-long-enough-for-hs256-0123456789",
        "CUSTOMERS_SEARCH_CONCURRENCY": "1",
        "CUSTOMERS_SEARCH_BUDGET": str(BUDGET),
        "CUSTOMERS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}
    try:
        deadline = time.monotonic() + 60
        while not _index_serves(base, headers):  # a ranked hit has a score: the index answers
            assert process.poll() is None and time.monotonic() < deadline, "no index-served search"
            time.sleep(0.2)
        yield base, headers
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def get(url: str, headers: dict | None = None, timeout: float = 30) -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers
    except OSError as error:
        return 0, str(error), {}


def _index_serves(base: str, headers: dict) -> bool:
    status, body, _ = get(f"{base}/admin/customers/search?q=ann1", headers)
    return status == 200 and bool(body["hits"]) and body["hits"][0]["score"] is not None


def listing(base: str, headers: dict, **params: Any) -> tuple[int, Any, Any]:
    return get(f"{base}/admin/customers?{urllib.parse.urlencode(params)}", headers)


def test_deep_offsets_on_the_index_served_path_leave_the_server_serving(served) -> None:
    base, headers = served
    for order in ("id", "-email", "created_at"):
        status, body, _ = listing(base, headers, offset=2**31 - 1, order=order)
        assert (status, body["customers"], body["count"]) == (200, [], CUSTOMERS), order
        status, body, _ = listing(base, headers, offset=CUSTOMERS - 2, limit=50, order=order)
        assert status == 200 and len(body["customers"]) == 2 and body["count"] == CUSTOMERS
    status, body, _ = listing(base, headers, offset=2**31 - 1, q="doe")  # one has no "doe" left
    assert (status, body["customers"], body["count"]) == (200, [], CUSTOMERS - 1)
    assert get(f"{base}/health")[0] == 200
    status, body, _ = listing(base, headers, limit=5)
    assert status == 200 and len(body["customers"]) == 5 and body["count"] == CUSTOMERS


def _hostile_paths() -> list[str]:
    many = " ".join(["abcdefghijklmno"] * MAX_Q_WORDS)
    same = " ".join(["a" * 15] * MAX_Q_WORDS)
    queries: list[tuple[str, dict[str, Any]]] = [
        ("/admin/customers", {"q": "a" * MAX_Q_CHARS}),
        ("/admin/customers", {"q": same}),
        ("/admin/customers", {"q": many, "order": "-email"}),
        ("/admin/customers", {"offset": 2**31 - 1}),
        ("/admin/customers", {"email[$like]": "%a" * 20 + "%b"}),
        ("/admin/customers/search", {"q": same, "limit": 1000}),
        ("/admin/customers/search", {"q": "a" * MAX_Q_CHARS}),
        ("/admin/customers/search", {"q": many[:-1]}),
    ]
    return [f"{path}?{urllib.parse.urlencode(params)}" for path, params in queries]


def test_hostile_searches_end_within_the_budget_and_health_keeps_answering(served) -> None:
    base, headers = served
    paths = _hostile_paths()
    outcomes: list[tuple[float, int, Any, Any]] = []
    health: list[tuple[float, int]] = []
    stop = time.monotonic() + 4

    def client(offset: int) -> None:
        n = offset
        while time.monotonic() < stop:
            started = time.monotonic()
            status, body, response_headers = get(base + paths[n % len(paths)], headers)
            outcomes.append((time.monotonic() - started, status, body, response_headers))
            n += 1

    def poll_health() -> None:
        while time.monotonic() < stop:
            started = time.monotonic()
            status = get(f"{base}/health", timeout=10)[0]
            health.append((time.monotonic() - started, status))
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(5)]
    threads.append(threading.Thread(target=poll_health))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes and health
    statuses = {status for _, status, _, _ in outcomes}
    assert statuses <= {200, 503}, statuses  # never a 500, never a dropped connection
    for took, status, body, response_headers in outcomes:
        assert took < BUDGET + 5, (took, status)  # bounded up front: ends soon after the budget
        if status == 503:
            assert body["type"] == "unexpected_state" and response_headers["Retry-After"]
    assert all(status == 200 for _, status in health), health
    assert max(took for took, _ in health) < 5, health
    assert listing(base, headers, limit=1)[0] in (200, 503)
