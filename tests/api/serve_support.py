"""A real ``customers serve`` subprocess, HTTP helpers and a write load: for the outage and
shutdown tests and ``scripts/bench_outage.py``.

The server listens on port 0 (no port race between parallel test runs); its real port is read
from the "listening on" line. ``extra_blueprints`` registers test-only routes (e.g.
:mod:`tests.api.slow_routes`) in the subprocess before the app is built.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from app.credentials import mint_token
from app.embedded import probes
from indexers.oplog import scoped_token

ROOT = Path(__file__).resolve().parents[2]
SECRET = "outage-test-secret-long-enough-for-hs256-0123456789"

# argv[1]: comma-separated blueprint modules to add; argv[2:]: the `customers` arguments.
# (Older checkouts list their blueprints by module name, newer ones as blueprints.)
LAUNCH = """
import importlib, sys
import app.api
names = [name for name in sys.argv[1].split(",") if name]
by_name = all(isinstance(bp, str) for bp in app.api.BLUEPRINTS)
app.api.BLUEPRINTS.extend(names if by_name else [importlib.import_module(n).bp for n in names])
from app.cli import cli
cli(sys.argv[2:], prog_name="customers")
"""
LISTENING = re.compile(r"listening on http://[^:]+:(\d+)")
WRITERS = 4  # threads of a WriteLoad


@dataclass
class Reply:
    """One HTTP exchange: status, JSON body (or None), headers, seconds it took."""

    status: int
    body: Any
    headers: Any
    seconds: float


def admin_headers() -> dict[str, str]:
    """An admin (``actor_type: user``) JWT signed with :data:`SECRET`."""
    token = mint_token(SECRET, actor_type="user", actor_id="user_outage", expires_in=3600)
    return {"Authorization": f"Bearer {token}"}


def serve_env(data_dir: Path, *, root: Path = ROOT, **overrides: str) -> dict[str, str]:
    """The environment of a serve subprocess on ``data_dir`` (embedded MongoDB unless given),
    running the code of the checkout at ``root``."""
    return {
        **os.environ,
        "CUSTOMERS_DATA_DIR": str(data_dir),
        "JWT_SECRET": SECRET,
        "PYTHONPATH": str(root),
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }


class Serve:
    """``customers serve --port 0`` in a subprocess; its output is collected line by line.

    ``port``: listen there instead (for versions that print the port asked for, not the real one).
    """

    def __init__(
        self, env: dict[str, str], *, blueprints: tuple[str, ...] = (), port: int = 0
    ) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, ",".join(blueprints), "serve", "--port", str(port)],
            cwd=env["PYTHONPATH"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.port: int | None = None
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                match = LISTENING.search(line)
                if match and self.port is None:
                    self.port = int(match.group(1))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        """Everything the process printed so far."""
        with self._changed:
            return "".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 60) -> None:
        """Wait until a printed line contains ``text``; fail with the output if it never does."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self.lines):
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"{text!r} never printed; output:\n{''.join(self.lines)}")
                self._changed.wait(min(left, 0.5))

    def start(self, timeout: float = 60) -> Serve:
        """Wait until it listens and answers ``/health`` (or stop it and fail)."""
        try:
            self.wait_for_line("listening on", timeout)
            deadline = time.monotonic() + timeout
            while self.request("GET", "/health", timeout=2).status != 200:
                assert time.monotonic() < deadline, f"never healthy; output:\n{self.output}"
                time.sleep(0.1)
        except BaseException:
            self.close()
            raise
        return self

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        timeout: float = 30,
    ) -> Reply:
        """Send one request; a refused or broken connection is status 0."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method, headers=headers or {}
        )
        request.add_header("Content-Type", "application/json")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw, reply_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, reply_headers = error.code, error.read(), error.headers
        except OSError:
            return Reply(0, None, {}, time.monotonic() - started)
        body = json.loads(raw) if raw else None
        return Reply(status, body, reply_headers, time.monotonic() - started)

    def signal(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` to the server process."""
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit; return its status."""
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        """Make sure the process is gone (SIGTERM, then SIGKILL)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


class WriteLoad:
    """Threads creating customers through HTTP; remembers every acknowledged (200) write, the
    other replies, and how long each request took."""

    def __init__(self, server: Serve, *, timeout: float = 30) -> None:
        self.server = server
        self.timeout = timeout
        self.headers = admin_headers()
        self.acknowledged: dict[str, tuple[float, float]] = {}  # id -> (sent, answered 200)
        self.refused: list[Reply] = []
        self.seconds: list[float] = []  # every request's duration
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
            sent = time.monotonic()
            reply = self.server.request(
                "POST", "/admin/customers", body, self.headers, timeout=self.timeout
            )
            n += 1
            with self._lock:
                self.seconds.append(reply.seconds)
                if reply.status == 200:
                    self.acknowledged[reply.body["customer"]["id"]] = (sent, time.monotonic())
                else:
                    self.refused.append(reply)
            if reply.status != 200:
                time.sleep(0.05)

    def first_success_after(self, moment: float, timeout: float) -> float | None:
        """Seconds from ``moment`` to the first 200 of a request sent after it (None if none
        within ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                after = [done for sent, done in self.acknowledged.values() if sent > moment]
            if after:
                return min(after) - moment
            time.sleep(0.05)
        return None


def kill_embedded_mongodb(data: Path) -> dict[str, Any]:
    """SIGKILL the embedded server of ``data``; return its state (pid, port) from before."""
    state = json.loads((data / "run" / "mongodb.json").read_text())
    os.kill(state["pid"], signal.SIGKILL)
    return state


def caught_up(uri: str) -> bool:
    """Whether the indexer's saved checkpoint covers every customer change."""
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
    with MongoClient(probes.loopback_uri(state["port"])) as client:
        while True:
            doc = client.customers.indexer_state.find_one({"_id": "customers"}) or {}
            if doc.get("last_reindex"):
                return doc["last_reindex"]
            assert time.monotonic() < deadline, "the first index build did not finish"
            time.sleep(0.1)
