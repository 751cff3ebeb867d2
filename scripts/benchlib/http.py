"""A lean HTTP/1.1 keep-alive client, and ``customers serve`` run for a benchmark.

The client costs little CPU (no per-request connection, no header parsing beyond the length),
so on a shared 2-core machine the figures describe the server rather than the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Connection", "Pool", "ServedApp", "served_app"]

ROOT = Path(__file__).resolve().parents[2]


class Connection:
    """One keep-alive connection; ``request`` reconnects once if the server closed it."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        try:
            return await self._request(method, path, body)
        except (ConnectionError, IndexError, asyncio.IncompleteReadError):
            # the server closed an idle keep-alive connection: reconnect once
            await self.close()
            return await self._request(method, path, body)

    async def _request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.headers}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        assert self.reader is not None
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Pool:
    """Connections handed out one request at a time (opened on demand, kept open)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self._open = lambda: Connection(host, port, headers)
        self._idle: list[Connection] = []
        self._all: list[Connection] = []

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self._idle:
            conn = self._idle.pop()
        else:
            conn = self._open()
            self._all.append(conn)
        try:
            return await conn.request(method, path, body)
        finally:
            self._idle.append(conn)

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()


@dataclass(frozen=True)
class ServedApp:
    """A running ``customers serve``: where it listens and an admin API key for it."""

    host: str
    port: int
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}", "Content-Type": "application/json"}

    def pool(self) -> Pool:
        return Pool(self.host, self.port, self.headers)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


@contextlib.contextmanager
def served_app(env: dict[str, str], *, startup_timeout: float = 120) -> Iterator[ServedApp]:
    """Run ``customers serve`` (this checkout's code) with ``env`` added to the environment,
    on a free-ish port, with a fresh API key; stop it (SIGTERM) on exit.

    :param env: e.g. MONGODB_URI, MONGODB_DATABASE, CUSTOMERS_DATA_DIR.
    """
    env = {"CUSTOMERS_LOG_LEVEL": "WARNING", **os.environ, **env}
    key = subprocess.run(
        _cli("api-key", "create", "--title", "bench"),
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    secret = next(word for word in key.split() if word.startswith("sk_"))
    port = 9400 + random.Random().randint(0, 500)
    server = subprocess.Popen(_cli("serve", "--port", str(port)), env=env, cwd=ROOT)
    try:
        _wait_healthy(server, port, startup_timeout)
        yield ServedApp("127.0.0.1", port, secret)
    finally:
        server.terminate()
        server.wait(timeout=60)


def _wait_healthy(server: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"customers serve exited with status {server.returncode}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/health/ready")  # MongoDB up, index serving, indexer caught up
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError(f"customers serve was not ready (/health/ready) within {timeout:.0f} s")
