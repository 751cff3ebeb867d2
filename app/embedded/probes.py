"""Looking at processes and ports from outside: is the server alive, who answers, what is free.

Cheap enough to run twice a second (the watchdog's ``pid_alive`` is a ``/proc`` read); none of
these start, stop or change anything.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

__all__ = [
    "answers_as",
    "bindable",
    "free_port",
    "lock_holder",
    "loopback_uri",
    "pid_alive",
    "port_open",
    "proc_stat",
    "server_pid",
    "start_token",
    "wait_bindable",
]

PING_TIMEOUT_SECONDS = 2.0  # for "is the recorded server still answering?"


def proc_stat(pid: int) -> list[str] | None:
    """Return the fields of /proc/<pid>/stat after the command name, or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rpartition(")")[2].split()


def start_token(pid: int) -> str | None:
    """Return the process start time (Linux), which a recycled pid cannot share."""
    fields = proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def pid_alive(pid: int, token: str | None = None) -> bool:
    """Whether ``pid`` runs and is still the process we recorded.

    A zombie counts as gone only once all its threads have exited: a killed multi-threaded
    server shows its leader as a zombie while other threads still hold its files and locks.
    """
    if Path("/proc/self/stat").exists():
        fields = proc_stat(pid)
        if fields is None or fields[0] == "X":
            return False
        if fields[0] == "Z":
            return len(_listdir(Path(f"/proc/{pid}/task"))) > 1
        return token is None or fields[19] == token
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def free_port() -> int:
    """Return a loopback port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loopback_uri(port: int) -> str:
    """The connection string of our server on ``port`` (retryable writes off: see
    :mod:`app.embedded`)."""
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


def server_pid(port: int, timeout: float = PING_TIMEOUT_SECONDS) -> int | None:
    """Ping the server on ``port``; return the pid it reports, or None if nothing answers."""
    ms = int(timeout * 1000)
    try:
        with MongoClient[dict[str, Any]](
            loopback_uri(port), serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms
        ) as client:
            client.admin.command("ping")
            return int(client.admin.command("serverStatus").get("pid", -1))
    except PyMongoError:
        return None


def answers_as(port: int, pid: int, patience: float = 10.0) -> bool:
    """Whether the server on ``port`` is ``pid``, allowing a busy server a few slow pings."""
    deadline = time.monotonic() + patience
    while True:
        if server_pid(port) == pid:
            return True
        if time.monotonic() >= deadline or not pid_alive(pid):
            return False


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback ``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def lock_holder(path: Path) -> int | None:
    """Return the pid holding a POSIX lock on ``path`` (Linux /proc/locks), if known."""
    try:
        inode = path.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) > 5 and parts[1] == "POSIX" and parts[5].rsplit(":", 1)[-1] == str(inode):
            return int(parts[4])
    return None


def bindable(port: int) -> bool:
    """Whether a server could listen on the loopback ``port`` now (as the server binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_bindable(port: int, patience: float) -> bool:
    """Wait up to ``patience`` seconds for ``port`` to be free; return whether it is."""
    deadline = time.monotonic() + patience
    while not bindable(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True
