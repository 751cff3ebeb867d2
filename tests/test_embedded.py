"""The embedded SecantusDB server: start, reuse across processes, lifetime, durability, errors."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient, MongoClient

from app import db
from app.bootstrap import build_runtime
from app.config import Settings
from app.db import close_client, open_client
from app.embedded import EmbeddedServer, EmbeddedServerError, launch, probes
from app.embedded import server as server_module

ROOT = Path(__file__).resolve().parents[1]

# Run in a second interpreter: join the server of argv[1], report what it found, then leave
# normally, or vanish without cleanup (os._exit) when argv[2] == "vanish".
JOIN_AND_REPORT = """
import json, os, sys
from pymongo import MongoClient
from app.embedded import EmbeddedServer
server = EmbeddedServer(sys.argv[1]).start()
with MongoClient(server.uri) as client:
    docs = client.app.things.count_documents({})
print(json.dumps({"pid": server.pid, "port": server.port,
                  "started_here": server.started_here, "docs": docs}), flush=True)
if sys.argv[2] == "vanish":
    os._exit(0)
if sys.argv[2] == "hold":
    sys.stdin.read()
server.stop()
"""


def run_python(code: str, *args: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter of ours; return the JSON it printed."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def assert_gone(pid: int, port: int) -> None:
    """The server process has exited and nothing listens on its port any more."""
    assert not probes.pid_alive(pid)
    assert not probes.port_open(port)


def test_second_process_joins_the_running_server_instead_of_starting_one(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path).start()
    pid, port = server.pid, server.port
    assert pid and port and server.started_here
    with MongoClient(server.uri) as client:
        client.app.things.insert_one({"_id": "written-by-the-first-process"})

    seen = run_python(JOIN_AND_REPORT, str(tmp_path), "leave")

    assert seen == {"pid": pid, "port": port, "started_here": False, "docs": 1}
    assert probes.server_pid(port) == pid  # the second one left; we still use it
    state = json.loads((tmp_path / "run" / "mongodb.json").read_text())
    assert (state["pid"], state["port"]) == (pid, port)
    assert state["options"]["sync_on_commit"] is True

    server.stop()
    assert_gone(pid, port)
    assert not (tmp_path / "run" / "mongodb.json").exists()


def test_data_survives_a_clean_restart(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path) as first, MongoClient(first.uri) as client:
        client.app.things.insert_one({"_id": "kept"})
    with EmbeddedServer(tmp_path) as second, MongoClient(second.uri) as client:
        assert second.started_here
        assert client.app.things.find_one() == {"_id": "kept"}


def test_the_last_user_stops_the_server_whoever_started_it(tmp_path: Path) -> None:
    starter = EmbeddedServer(tmp_path).start()
    joiner = EmbeddedServer(tmp_path).start()
    assert joiner.pid == starter.pid and not joiner.started_here
    pid, port = starter.pid, starter.port
    assert pid and port

    starter.stop()
    assert probes.server_pid(port) == pid

    joiner.stop()
    assert_gone(pid, port)


def test_users_that_died_do_not_keep_the_server_alive(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    server = EmbeddedServer(tmp_path).start()
    pid, port = server.pid, server.port
    assert pid and port
    (tmp_path / "run" / "mongodb.users" / f"{dead.stdout.strip()}-none-deadbeef").touch()

    server.stop()

    assert_gone(pid, port)
    assert list((tmp_path / "run" / "mongodb.users").iterdir()) == []


def test_a_server_left_behind_by_a_vanished_process_is_adopted_and_stopped(
    tmp_path: Path,
) -> None:
    seen = run_python(JOIN_AND_REPORT, str(tmp_path), "vanish")
    assert seen["started_here"] is True
    assert probes.server_pid(seen["port"]) == seen["pid"]  # still running, nobody's

    server = EmbeddedServer(tmp_path).start()
    assert (server.pid, server.port, server.started_here) == (seen["pid"], seen["port"], False)
    server.stop()

    assert_gone(seen["pid"], seen["port"])


@pytest.mark.slow
def test_concurrent_first_starts_launch_exactly_one_server(tmp_path: Path) -> None:
    holders = [
        subprocess.Popen(
            [sys.executable, "-c", JOIN_AND_REPORT, str(tmp_path), "hold"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        seen = [json.loads(holder.stdout.readline()) for holder in holders]
    finally:
        for holder in holders:
            holder.communicate("", timeout=60)

    assert len({(s["pid"], s["port"]) for s in seen}) == 1
    assert sorted(s["started_here"] for s in seen) == [False, False, True]
    assert all(holder.returncode == 0 for holder in holders)
    assert_gone(seen[0]["pid"], seen[0]["port"])


async def insert_one_by_one(uri: str, count: int) -> list[int]:
    """Insert ``count`` documents one at a time, each awaited; return the acknowledged ids."""
    acknowledged = []
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        for i in range(count):
            result = await client.app.things.insert_one({"_id": i, "payload": "x" * 100})
            assert result.acknowledged
            acknowledged.append(result.inserted_id)
    finally:
        await client.close()
    return acknowledged


@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill_of_the_server(tmp_path: Path) -> None:
    first = EmbeddedServer(tmp_path, supervise=False).start()  # the second one restarts it
    assert first.pid
    acknowledged = asyncio.run(insert_one_by_one(first.uri, 1_000))

    os.kill(first.pid, signal.SIGKILL)
    assert launch.wait_gone(first.pid, None, first._launch.proc if first._launch else None, 10)

    second = EmbeddedServer(tmp_path).start()
    try:
        assert second.started_here and second.pid != first.pid
        with MongoClient(second.uri) as client:
            found = client.app.things.distinct("_id")
        assert sorted(found) == acknowledged
    finally:
        first.stop()
        second.stop()


def test_storage_locked_by_a_foreign_program_is_a_clear_error(tmp_path: Path) -> None:
    port = probes.free_port()
    foreign = subprocess.Popen(
        [launch.find_executable(), f"--port={port}", f"--storage-path={tmp_path / 'mongodb'}"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while probes.server_pid(port, timeout=0.5) != foreign.pid:
            assert time.monotonic() < deadline and foreign.poll() is None

        with pytest.raises(EmbeddedServerError, match="is locked by another program") as info:
            EmbeddedServer(tmp_path).start()

        assert f"pid {foreign.pid}" in str(info.value)
        assert not (tmp_path / "run" / "mongodb.json").exists()
    finally:
        foreign.terminate()
        foreign.wait(timeout=30)


def test_a_server_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    (tmp_path / "mongodb").write_text("not a directory")

    with pytest.raises(EmbeddedServerError, match="exited with code") as info:
        EmbeddedServer(tmp_path).start()

    assert "FileExistsError" in str(info.value)  # the server's own traceback, quoted
    assert not (tmp_path / "run" / "mongodb.json").exists()


def test_a_server_gets_more_time_to_start_the_more_data_it_stores(tmp_path: Path) -> None:
    """SecantusDB reads its data before it answers: 1,000,000 customers took 40 s from a cold
    page cache, beyond the flat 30 s a start used to get."""
    storage = tmp_path / "mongodb"
    (storage / "journal").mkdir(parents=True)
    assert launch.start_budget(str(storage), 30.0) == 30.0
    with (storage / "collection-0.wt").open("wb") as big:  # sparse: no disk used
        big.truncate(3_000_000_000)
    with (storage / "journal" / "log.1").open("wb") as log:
        log.truncate(1_000_000_000)
    assert launch.start_budget(str(storage), 30.0) == 30.0 + 4 * launch.START_SECONDS_PER_GB
    assert launch.start_budget(":memory:", 30.0) == 30.0
    assert launch.start_budget(str(tmp_path / "absent"), 30.0) == 30.0


def test_ephemeral_servers_are_private_and_gone_when_stopped() -> None:
    with EmbeddedServer.ephemeral() as one, EmbeddedServer.ephemeral() as two:
        assert one.port != two.port and one.is_ephemeral
        with MongoClient(one.uri) as client:
            client.app.things.insert_one({"_id": 1})
            assert client.app.things.count_documents({}) == 1
        with MongoClient(two.uri) as client:
            assert client.app.things.count_documents({}) == 0
        pid, port, run_dir = one.pid, one.port, one.log_file.parent
    assert pid and port
    assert_gone(pid, port)
    assert not run_dir.exists()


def test_open_client_starts_the_embedded_server_and_close_client_stops_it(tmp_path: Path) -> None:
    async def run() -> tuple[int, int]:
        client, server = await open_client(Settings(data_dir=tmp_path))
        assert server is not None and server.pid and server.port
        pid_port = (server.pid, server.port)
        assert client.codec_options.tz_aware
        assert (await client.admin.command("ping"))["ok"] == 1
        await close_client(client, server)
        return pid_port

    pid, port = asyncio.run(run())
    assert_gone(pid, port)


def test_an_external_uri_is_used_as_given() -> None:
    settings = Settings(mongodb_uri="mongodb://db.example:27017/?replicaSet=rs0")

    async def run() -> None:
        client, server = await open_client(settings)
        assert server is None and client.codec_options.tz_aware
        assert set(client.topology_description.server_descriptions()) == {("db.example", 27017)}
        await close_client(client, server)

    asyncio.run(run())


def test_runtimes_on_one_data_dir_share_its_server_and_the_last_one_stops_it(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    first = build_runtime(settings, search=False)
    second = build_runtime(settings, search=False)
    try:
        assert first.database_server is not None and second.database_server is not None
        pid, port = first.database_server.pid, first.database_server.port
        assert (second.database_server.pid, second.database_server.port) == (pid, port)
        assert first.database_server.started_here and not second.database_server.started_here
        # SecantusDB's retryable-write registry collapses under sustained writes
        assert first.client.options.retry_writes is False
        first.close()
        assert second.run(second.client.admin.command("ping"))["ok"] == 1
    finally:
        first.close()
        second.close()
    assert pid and port
    assert_gone(pid, port)


# --- supervision ------------------------------------------------------------------------------

# Join the server of argv[1] and hold it; each line on stdin asks for a report of what this
# process now uses (after a restart, the server the watchdog restarted or adopted).
HOLD_AND_REPORT = """
import json, sys
from app.embedded import EmbeddedServer
server = EmbeddedServer(sys.argv[1]).start()
for line in sys.stdin:
    print(json.dumps({"pid": server.pid, "port": server.port,
                      "started_here": server.started_here}), flush=True)
server.stop()
"""


def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def secantusd_processes(storage: Path) -> list[int]:
    """Pids of live secantusd processes whose command line names ``storage``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if f"--storage-path={storage}" in cmdline and probes.pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_a_killed_server_is_restarted_on_its_port_with_its_data(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path).start()
    pid, port = server.pid, server.port
    assert pid and port
    with MongoClient(server.uri) as client:
        client.app.things.insert_one({"_id": "before the crash"})

        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: server.pid != pid)

        assert server.port == port and server.started_here
        assert client.app.things.find_one() == {"_id": "before the crash"}  # same client
    state = json.loads((tmp_path / "run" / "mongodb.json").read_text())
    assert (state["pid"], state["port"]) == (server.pid, port)
    new_pid = server.pid
    server.stop()
    assert_gone(new_pid or 0, port)


@pytest.mark.slow
def test_processes_that_see_the_server_die_restart_exactly_one(tmp_path: Path) -> None:
    holders = [
        subprocess.Popen(
            [sys.executable, "-c", HOLD_AND_REPORT, str(tmp_path)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]

    def reports() -> list[dict[str, Any]]:
        for holder in holders:
            holder.stdin.write("report\n")
            holder.stdin.flush()
        return [json.loads(holder.stdout.readline()) for holder in holders]

    try:
        before = reports()
        assert len({(r["pid"], r["port"]) for r in before}) == 1
        os.kill(before[0]["pid"], signal.SIGKILL)
        wait_for(lambda: len({r["pid"] for r in reports()} - {before[0]["pid"]}) == 1)
        wait_for(lambda: len({r["pid"] for r in reports()}) == 1)

        after = reports()
        assert after[0]["pid"] != before[0]["pid"]
        assert {r["port"] for r in after} == {before[0]["port"]}
        assert sorted(r["started_here"] for r in after) == [False, False, True]
        assert secantusd_processes(tmp_path / "mongodb") == [after[0]["pid"]]
    finally:
        for holder in holders:
            holder.communicate("", timeout=60)
    assert all(holder.returncode == 0 for holder in holders)
    assert secantusd_processes(tmp_path / "mongodb") == []  # the last one out stopped it


def test_a_server_whose_port_was_taken_moves_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "WATCH_INTERVAL_SECONDS", 2.0)  # time to take the port
    monkeypatch.setattr(server_module, "PORT_PATIENCE_SECONDS", 0.5)
    moves: list[tuple[int, int]] = []
    server = EmbeddedServer(tmp_path, on_moved=lambda old, new: moves.append((old, new)))
    server.start()
    pid, port = server.pid, server.port
    assert pid and port
    with MongoClient(server.uri) as client:
        client.app.things.insert_one({"_id": "kept"})
    os.kill(pid, signal.SIGKILL)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        wait_for(lambda: _bind_quietly(squatter, port), timeout=5)
        squatter.listen()
        wait_for(lambda: bool(moves))

    assert moves == [(port, server.port)] and server.port != port
    with MongoClient(server.uri) as client:
        assert client.app.things.find_one() == {"_id": "kept"}
    assert json.loads((tmp_path / "run" / "mongodb.json").read_text())["port"] == server.port
    server.stop()


def _bind_quietly(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def test_client_timeouts_fail_fast_unless_the_uri_sets_its_own() -> None:
    options = db.client_options("mongodb://h:1/?replicaSet=rs0")
    assert options["serverSelectionTimeoutMS"] == 1_000 and options["connectTimeoutMS"] == 5_000
    assert options["heartbeatFrequencyMS"] == 2_000
    assert options["tz_aware"] is True
    own = db.client_options("mongodb://h:1/?serverselectiontimeoutms=30000")
    assert "serverSelectionTimeoutMS" not in own and own["connectTimeoutMS"] == 5_000


def test_the_indexer_client_waits_for_late_heartbeats_and_still_fails_fast_to_connect() -> None:
    patient = db.client_options("mongodb://h:1/", patient=True)
    assert patient["connectTimeoutMS"] == 600_000
    assert patient["serverSelectionTimeoutMS"] == 1_000
    own = db.client_options("mongodb://h:1/?connectTimeoutMS=20000", patient=True)
    assert "connectTimeoutMS" not in own
