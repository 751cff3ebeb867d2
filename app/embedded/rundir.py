"""The files of a data directory's run dir, shared by every process that uses its server.

::

    run/mongodb.lock        flock that serialises start, reuse and stop between our processes
    run/mongodb.json        the running server: pid, port, started_at, options
    run/mongodb.users/      one file per live handle, named <pid>-<start token>-<random>
    run/mongodb.log         the server's output, appended; its tail is quoted in errors
    run/secantusd.toml      empty config passed with --config (see :mod:`.launch`)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from app.embedded.probes import pid_alive

__all__ = ["State", "flocked", "live_users", "log_tail", "read_state", "write_state"]

LOG_TAIL_LINES = 25


@dataclass(frozen=True)
class State:
    """What ``run/mongodb.json`` records about the running server."""

    pid: int
    token: str | None  # process start time: tells a recycled pid from our server
    port: int
    started_at: str
    options: dict[str, object]


@contextlib.contextmanager
def flocked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (serialises our processes, released on crash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_state(path: Path) -> State | None:
    """Return the recorded server, or None if there is none (or the file is unreadable)."""
    try:
        return State(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def write_state(path: Path, state: State) -> None:
    """Write the state file atomically, so a reader never sees half of it."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    os.replace(tmp, path)


def live_users(users_dir: Path) -> list[Path]:
    """Return the user files of live processes, deleting those of dead ones."""
    live = []
    for user in users_dir.glob("*-*-*"):
        pid, token, _ = user.name.split("-", 2)
        if pid.isdigit() and pid_alive(int(pid), None if token == "none" else token):
            live.append(user)
        else:
            user.unlink(missing_ok=True)
    return live


def log_tail(log_file: Path, offset: int = 0) -> str:
    """Return the last lines the server wrote since ``offset``."""
    try:
        with log_file.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-LOG_TAIL_LINES:]) or "(empty log)"
