"""`customers serve` starting and stopping, as a real subprocess.

Startup errors (port in use, unwritable data dir, bad configuration) are one line and a
non-zero status before anything claims to listen. SIGTERM drains: the request in flight
finishes, the indexer saves its checkpoint, the embedded MongoDB stops, status 0; past the
deadline the requests still running answer 503; a second signal exits at once.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pymongo import MongoClient

from app.embedded import EmbeddedServer, probes
from indexers.oplog import scoped_token
from tests.api.serve_support import (
    ROOT,
    Reply,
    Serve,
    admin_headers,
    first_index_built,
    serve_env,
)
from tests.api.slow_routes import STARTED

SLOW = ("tests.api.slow_routes",)


def run_serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `customers serve` to its (early) end; return what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The process failed with exactly one line of output (no traceback, no 'listening')."""
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, lines
    assert lines[0].startswith("Error: ")
    return lines[0]


def in_background(call) -> tuple[threading.Thread, dict[str, Reply]]:
    result: dict[str, Reply] = {}
    thread = threading.Thread(target=lambda: result.update(reply=call()))
    thread.start()
    return thread, result


# --- startup errors ---------------------------------------------------------------------------


def test_a_port_in_use_is_one_line_before_the_database_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_serve(serve_env(data), "--port", str(port))

    line = one_line_error(result)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "already in use" in line
    assert not (data / "run").exists()  # the embedded MongoDB was never started


@pytest.mark.parametrize(
    ("variable", "value"),
    [("METRICS_PORT", "abc"), ("CUSTOMERS_SEARCH_BUDGET", "-1"), ("CUSTOMERS_ENV", "prod")],
)
def test_bad_configuration_is_one_line_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = {**serve_env(tmp_path / "data"), variable: value}
    result = run_serve(env, "--port", "0")
    assert variable in one_line_error(result)
    assert not (tmp_path / "data").exists()


def test_an_unwritable_data_dir_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file, not a directory")
    result = run_serve(serve_env(tmp_path / "file" / "data"), "--port", "0")
    line = one_line_error(result)
    assert "CUSTOMERS_DATA_DIR" in line and "is not a writable directory" in line


def test_an_unreachable_mongodb_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once the socket is closed
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    result = run_serve(serve_env(tmp_path / "data", MONGODB_URI=uri), "--port", "0")
    line = one_line_error(result)
    assert "MongoDB is unreachable" in line and f"127.0.0.1:{port}" in line


# --- clean shutdown ---------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_finishes_the_request_in_flight_saves_the_checkpoint_and_stops_the_database(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    server = Serve(serve_env(data), blueprints=SLOW).start()
    try:
        first_index_built(data)
        created = server.request("POST", "/admin/customers", {"email": "a@x.io"}, admin_headers())
        assert created.status == 200
        listed = server.request("GET", "/admin/customers?q=a@x.io", None, admin_headers())
        assert listed.body["count"] == 1  # read-your-writes: the indexer has applied it
        database = json.loads((data / "run" / "mongodb.json").read_text())
        thread, result = in_background(lambda: server.request("GET", "/test/slow?seconds=3"))
        server.wait_for_line(STARTED)
        server.signal(signal.SIGTERM)
        server.wait_for_line("stopping: received SIGTERM")
        assert server.request("GET", "/health", timeout=2).status == 0  # no longer accepting
        thread.join(30)
        reply = result["reply"]
        assert (reply.status, reply.body) == (200, {"slept": 3.0}), server.output
        assert server.wait(30) == 0, server.output
    finally:
        server.close()

    assert not probes.pid_alive(database["pid"])  # the last user stopped the database
    assert not (data / "run" / "mongodb.json").exists()
    with EmbeddedServer(data, supervise=False) as mongo, MongoClient(mongo.uri) as client:
        state = client.customers.indexer_state.find_one({"_id": "customers"})
        assert state is not None and state["owner"] is None, state  # released: a clean stop
        token = scoped_token(state["resume_token"], "customers.customers")
        with client.customers.customers.watch(resume_after=token, max_await_time_ms=200) as stream:
            assert stream.try_next() is None  # the checkpoint covers every customer change


@pytest.mark.parametrize("blocking", ["", "1"], ids=["awaiting", "blocking-thread"])
def test_past_the_deadline_requests_in_flight_answer_503_and_the_process_exits_0(
    tmp_path: Path, mongodb_uri: str, database_name: str, blocking: str
) -> None:
    env = serve_env(
        tmp_path / "data",
        MONGODB_URI=mongodb_uri,
        MONGODB_DATABASE=database_name,
        CUSTOMERS_INDEXER="off",
        CUSTOMERS_SHUTDOWN_TIMEOUT="1",
    )
    server = Serve(env, blueprints=SLOW).start()
    try:
        slow = f"/test/slow?seconds=60&blocking={blocking}"
        thread, result = in_background(lambda: server.request("GET", slow))
        server.wait_for_line(STARTED)
        signalled = time.monotonic()
        server.signal(signal.SIGTERM)
        thread.join(30)
        reply = result["reply"]
        assert reply.status == 503 and reply.body["type"] == "unexpected_state"
        assert "shutting down" in reply.body["message"] and reply.headers["Retry-After"] == "1"
        assert server.wait(30) == 0, server.output
        assert time.monotonic() - signalled < 15
    finally:
        server.close()


def test_a_second_signal_exits_at_once(
    tmp_path: Path, mongodb_uri: str, database_name: str
) -> None:
    env = serve_env(
        tmp_path / "data",
        MONGODB_URI=mongodb_uri,
        MONGODB_DATABASE=database_name,
        CUSTOMERS_INDEXER="off",
        CUSTOMERS_SHUTDOWN_TIMEOUT="60",
    )
    server = Serve(env, blueprints=SLOW).start()
    try:
        thread, _ = in_background(lambda: server.request("GET", "/test/slow?seconds=60"))
        server.wait_for_line(STARTED)
        server.signal(signal.SIGINT)
        server.wait_for_line("stopping: received SIGINT")
        second = time.monotonic()
        server.signal(signal.SIGTERM)
        assert server.wait(10) == 1
        assert time.monotonic() - second < 5
        assert "second signal: exiting at once" in server.output
        thread.join(30)
    finally:
        server.close()
