"""Starting and stopping ``secantusd-py`` processes: options, spawn, readiness, termination.

The server is given an empty ``--config`` file of our own, so a stray
``~/.secantus/secantusd.toml`` can never change how it runs; everything is on its command line.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from app.embedded.probes import (
    free_port,
    lock_holder,
    pid_alive,
    port_open,
    server_pid,
    wait_bindable,
)
from app.embedded.rundir import log_tail
from app.errors import CustomerModuleError

__all__ = [
    "DEFAULT_NOOP_HEARTBEAT_SECONDS",
    "DEFAULT_OPLOG_MAX_ENTRIES",
    "DEFAULT_OPLOG_RETENTION_SECONDS",
    "EmbeddedServerError",
    "Launch",
    "ServerOptions",
    "check_storage_unlocked",
    "detach",
    "find_executable",
    "spawn",
    "start_budget",
    "terminate",
    "wait_gone",
]

log = logging.getLogger("customers.embedded")  # with the service's logs (JSON lines in serve)

EXECUTABLE = "secantusd-py"
DEFAULT_OPLOG_MAX_ENTRIES = 5_000_000  # entries
DEFAULT_OPLOG_RETENTION_SECONDS = 24 * 60 * 60  # seconds
DEFAULT_NOOP_HEARTBEAT_SECONDS = 10  # seconds; 0 = off
STOP_TIMEOUT_SECONDS = 15.0  # SIGTERM grace before SIGKILL (a clean stop takes ~3 s)
PORT_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it
START_SECONDS_PER_GB = 30.0
"""Start-up time a server gets per GB of its storage, beyond the caller's timeout: SecantusDB
reads its data before it answers ping (1,000,000 customers, 4.2 GB: 26 s with the files in the
page cache, 40 s without, measured; a flat 30 s made ``customers serve`` fail after a reboot)."""
STILL_STARTING_EVERY = 10.0  # seconds between "still starting" log lines
_WT_BUSY = "already being managed by another process"
_PORT_BUSY = "Address already in use"


class EmbeddedServerError(CustomerModuleError):
    """The embedded server could not be found, started, reused or stopped."""


@dataclass(frozen=True)
class ServerOptions:
    """How a server is started (recorded in the state file, compared on reuse)."""

    sync_on_commit: bool = True
    oplog_max_entries: int = DEFAULT_OPLOG_MAX_ENTRIES
    oplog_retention_seconds: int = DEFAULT_OPLOG_RETENTION_SECONDS
    noop_heartbeat_seconds: int = DEFAULT_NOOP_HEARTBEAT_SECONDS
    log_level: str = "WARNING"

    def argv(self) -> list[str]:
        """Return the command-line flags for these options."""
        flags = [
            f"--oplog-max-entries={self.oplog_max_entries}",
            f"--oplog-retention-seconds={self.oplog_retention_seconds}",
            f"--noop-heartbeat-seconds={self.noop_heartbeat_seconds}",
            f"--log-level={self.log_level}",
        ]
        return [*flags, "--sync-on-commit"] if self.sync_on_commit else flags


def find_executable() -> str:
    """Return ``secantusd-py`` from our own venv's bin dir, else from PATH."""
    beside = Path(sys.executable).parent / EXECUTABLE
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(EXECUTABLE)
    if found is None:
        raise EmbeddedServerError(
            f"{EXECUTABLE} not found next to {sys.executable} nor on PATH; "
            "install the SecantusDB package (it comes with `pip install -e .`) "
            "or set MONGODB_URI to use an external MongoDB"
        )
    return found


def check_storage_unlocked(storage: Path, patience: float = 3.0) -> None:
    """Raise if another program holds WiredTiger's lock on ``storage`` (it would refuse us).

    A server that was just killed may hold the lock for a moment longer, hence the patience.
    """
    lock_file = storage / "WiredTiger.lock"
    deadline = time.monotonic() + patience
    while lock_file.exists():
        with lock_file.open("rb+") as handle:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = lock_holder(lock_file)
            else:
                fcntl.lockf(handle, fcntl.LOCK_UN)
                return
        if time.monotonic() >= deadline:
            raise locked_error(storage, holder)
        time.sleep(0.1)


def locked_error(storage: Path, holder: int | None) -> EmbeddedServerError:
    who = "another program"
    if holder is not None:
        try:
            cmd = Path(f"/proc/{holder}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            cmd = ""
        who = f"another program (pid {holder}: {cmd.strip() or '?'})"
    return EmbeddedServerError(
        f"The embedded MongoDB storage {storage} is locked by {who}. Stop that program, "
        "or use another CUSTOMERS_DATA_DIR, or set MONGODB_URI to use an external MongoDB."
    )


class Launch:
    """One spawned server process, with the log offset its output starts at."""

    def __init__(self, argv: list[str], log_file: Path, cwd: Path) -> None:
        self.log_file = log_file
        self.offset = log_file.stat().st_size if log_file.exists() else 0
        with log_file.open("ab") as out:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                start_new_session=True,  # a terminal's Ctrl-C must not reach a shared server
                # TMPDIR: the temp dir of a :memory: server lands in our run dir, which we
                # delete, so even a SIGKILLed ephemeral server leaves nothing behind.
                env={**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(cwd)},
            )

    def tail(self) -> str:
        """Return what this launch has logged so far."""
        return log_tail(self.log_file, self.offset)


def start_budget(storage: str, timeout: float) -> float:
    """Seconds a server on ``storage`` gets to answer ping: ``timeout``, plus
    :data:`START_SECONDS_PER_GB` for each GB stored there (none in memory)."""
    if storage == ":memory:":
        return timeout
    size = 0
    with contextlib.suppress(OSError):
        for path in Path(storage).rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file():
                    size += path.stat().st_size
    return timeout + START_SECONDS_PER_GB * size / 1e9


def wait_ready(launch: Launch, port: int, timeout: float) -> None:
    """Wait until the server answers ping; raise with its log tail if it dies or times out.

    A long start says so in the log every :data:`STILL_STARTING_EVERY` seconds.
    """
    started = time.monotonic()
    deadline = started + timeout
    said = started
    while time.monotonic() < deadline:
        if time.monotonic() - said >= STILL_STARTING_EVERY:
            said = time.monotonic()
            log.info(
                "the embedded MongoDB server is still starting (%.0f s so far, at most %.0f s)",
                said - started,
                timeout,
            )
        if launch.proc.poll() is not None:
            raise EmbeddedServerError(
                f"{EXECUTABLE} exited with code {launch.proc.returncode} while starting; "
                f"log {launch.log_file}:\n{launch.tail()}"
            )
        if port_open(port) and server_pid(port) == launch.proc.pid:
            return
        time.sleep(0.05)
    terminate(launch.proc.pid, None, launch.proc)
    raise EmbeddedServerError(
        f"{EXECUTABLE} did not answer ping within {timeout:.0f} s; "
        f"log {launch.log_file}:\n{launch.tail()}"
    )


def spawn(
    storage: str,
    options: ServerOptions,
    run_dir: Path,
    log_file: Path,
    timeout: float,
    *,
    port: int | None = None,
    port_patience: float = 0.0,
) -> tuple[Launch, int]:
    """Start a server and wait for it; return it and its port.

    ``port``: the port to use if it is (or within ``port_patience`` seconds becomes) free; else,
    and when a port is taken meanwhile, a free one. ``timeout`` grows with the data stored
    (:func:`start_budget`).
    """
    config = run_dir / "secantusd.toml"
    if not config.exists():
        config.write_text("# Intentionally empty: every setting is passed on the command line.\n")
    timeout = start_budget(storage, timeout)
    wanted = port if port is not None and wait_bindable(port, port_patience) else None
    if port is not None and wanted is None:
        log.error(
            "port %s of the embedded MongoDB server is still taken after %.0f s; "
            "starting it on another port",
            port,
            port_patience,
        )
    for attempt in range(PORT_ATTEMPTS):
        port = wanted if attempt == 0 and wanted is not None else free_port()
        argv = [find_executable(), f"--config={config}", "--host=127.0.0.1", f"--port={port}"]
        launch = Launch([*argv, f"--storage-path={storage}", *options.argv()], log_file, run_dir)
        try:
            wait_ready(launch, port, timeout)
        except EmbeddedServerError:
            tail = launch.tail()
            if _WT_BUSY in tail:
                holder = lock_holder(Path(storage, "WiredTiger.lock"))
                raise locked_error(Path(storage), holder) from None
            if _PORT_BUSY in tail and attempt + 1 < PORT_ATTEMPTS:
                continue
            raise
        return launch, port
    raise AssertionError("unreachable")  # pragma: no cover


def wait_gone(
    pid: int, token: str | None, proc: subprocess.Popen[bytes] | None, timeout: float
) -> bool:
    """Wait until the process has exited entirely (reaping it if it is our child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # For our child, only a successful wait proves that every thread (and lock) is gone.
        gone = proc.poll() is not None if proc is not None else not pid_alive(pid, token)
        if gone:
            return True
        time.sleep(0.05)
    return False


# Servers we launched and left running for other users: referenced until exit so that their
# Popen is never garbage-collected while running (that warns), and reaped once they exit.
_detached: list[subprocess.Popen[bytes]] = []


def detach(proc: subprocess.Popen[bytes] | None) -> None:
    """Keep a launched server's Popen around after its handle leaves, reaping finished ones."""
    _detached[:] = [p for p in _detached if p.poll() is None]
    if proc is not None and proc.poll() is None:
        _detached.append(proc)


def terminate(
    pid: int, token: str | None, proc: subprocess.Popen[bytes] | None, *, graceful: bool = True
) -> None:
    """Stop a server: SIGTERM (it flushes and closes WiredTiger), then SIGKILL if it hangs.

    ``graceful=False`` goes straight to SIGKILL: for ``:memory:`` servers, which have nothing
    to flush and otherwise spend ~2 s in their shutdown.
    """
    if pid <= 0:  # os.kill(0, ...) would signal our whole process group
        return
    steps = ((signal.SIGTERM, STOP_TIMEOUT_SECONDS),) if graceful else ()
    for sig, grace in (*steps, (signal.SIGKILL, 5.0)):
        if not pid_alive(pid, token):
            break
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_gone(pid, token, proc, grace):
            break
        log.warning("embedded MongoDB pid %s ignored %s", pid, sig.name)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1)
