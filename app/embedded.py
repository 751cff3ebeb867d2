"""The embedded MongoDB-wire server: SecantusDB's ``secantusd-py`` run as a separate process.

Why a separate process: SecantusDB is GPL-2.0, so we only ever talk to it over the MongoDB wire
protocol (arm's length), and it gets its own interpreter and core instead of sharing our GIL.

Persistent mode keeps everything under the data directory (``CUSTOMERS_DATA_DIR``)::

    mongodb/                WiredTiger storage (the server holds mongodb/WiredTiger.lock)
    run/mongodb.lock        flock that serialises start, reuse and stop between our processes
    run/mongodb.json        the running server: pid, port, started_at, options
    run/mongodb.users/      one file per live handle, named <pid>-<start token>-<random>
    run/mongodb.log         the server's output, appended; its tail is quoted in errors
    run/secantusd.toml      empty config passed with --config, so a stray
                            ~/.secantus/secantusd.toml can never change how our server runs

**Supervision.** Every handle on a shared data directory runs a watchdog thread
(:mod:`app.supervision`) that checks twice a second that the recorded server process still
runs. When it has died (``kill -9``, a crash), :meth:`EmbeddedServer.revive` takes the flock:
the first process to get it starts a new server on the same data and, if at all possible, the
same port (it waits up to 5 s for the port to be free), so every client of every process just
reconnects; the processes that get the flock after it find the new server in the state file and
adopt it. Only a dead server is replaced, never a slow one. If the old port stays taken (another
program grabbed it), the server starts on a free port and the state file says so; processes
whose clients were connected to the old port cannot follow and are told through ``on_moved``
(``customers serve`` then shuts down with exit status 75 so that its supervisor restarts it).

The server is started with ``--sync-on-commit``: without it, acknowledged writes are lost when
the server is killed (measured: 112 of 2,000 single inserts gone after ``kill -9``).

**Lifetime rule: the last live user stops it.** Every :class:`EmbeddedServer` handle that
:meth:`~EmbeddedServer.start`\\ s registers a user file; :meth:`~EmbeddedServer.stop` (also run
at interpreter exit) removes it, prunes the files of users whose process is gone, and stops the
server (SIGTERM, wait, SIGKILL) only when no live user is left, whichever process started it.
A second process on the same data directory finds the server through ``run/mongodb.json``
(the pid must be alive and the port must answer ``ping`` with that pid) and just registers
itself; it never starts a second server. If every user dies without cleaning up (``kill -9``),
the server keeps running and the next process of ours adopts it, and stops it when it is the
last one out. The server runs in its own session, so a Ctrl-C in a terminal reaches only our
process, which then decides whether the server must stop.

Oplog defaults (the search indexer resumes change streams from saved tokens, so the oplog must
reach back further than any indexer outage we want to survive without a full reindex):

- ``oplog_retention_seconds`` = 86,400 (24 h; SecantusDB's own default is 1 h),
- ``oplog_max_entries`` = 5,000,000 (SecantusDB's default is 100,000); whichever bound is hit
  first prunes the oldest entries,
- ``noop_heartbeat_seconds`` = 10 (mongod's default; SecantusDB's is 0 = off): a no-op oplog
  entry every 10 s keeps an idle change stream's resume token fresh.

**Retryable writes are off** (``retryWrites=false`` in :attr:`EmbeddedServer.uri`).
SecantusDB 0.7.0b3 records every retryable write's reply for 30 minutes, capped at 10,000
records, and on every such write scans all records and, above the cap, sorts them all, under
a global lock. Measured at 1,000,000 customers: 200 plain updates/s ran for ~95 s, until the
cap was reached, then each write cost more than 5 ms and the server collapsed (stalls of
0.3 s growing to 43 s, everything queued behind them); with retryable writes off, 150 s at
200 updates/s without a single 200 ms stall. What is given up: the driver's one automatic
retry of a write after a network error on a loopback connection, which then surfaces as an
error instead (nothing acknowledged is affected). Real MongoDB keeps the driver default.

They apply when a server is started; a process that reuses a running server gets the options
that server was started with (a mismatch is logged).

Ephemeral mode (:meth:`EmbeddedServer.ephemeral`) runs ``--storage-path :memory:`` for tests: no
state files, not shared, gone when stopped.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from app.errors import CustomerModuleError
from app.supervision import Watchdog

__all__ = [
    "DEFAULT_NOOP_HEARTBEAT_SECONDS",
    "DEFAULT_OPLOG_MAX_ENTRIES",
    "DEFAULT_OPLOG_RETENTION_SECONDS",
    "EmbeddedServer",
    "EmbeddedServerError",
    "ServerOptions",
    "find_executable",
]

log = logging.getLogger("customers.embedded")  # with the service's logs (JSON lines in serve)

EXECUTABLE = "secantusd-py"
DEFAULT_OPLOG_MAX_ENTRIES = 5_000_000  # entries
DEFAULT_OPLOG_RETENTION_SECONDS = 24 * 60 * 60  # seconds
DEFAULT_NOOP_HEARTBEAT_SECONDS = 10  # seconds; 0 = off
START_TIMEOUT_SECONDS = 30.0  # until the new server must answer ping
STOP_TIMEOUT_SECONDS = 15.0  # SIGTERM grace before SIGKILL (a clean stop takes ~3 s)
PING_TIMEOUT_SECONDS = 2.0  # for "is the recorded server still answering?"
PORT_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it
WATCH_INTERVAL_SECONDS = 0.5  # how often a handle checks that its server still runs
PORT_PATIENCE_SECONDS = 5.0  # a restart waits this long for the old port before moving
LOG_TAIL_LINES = 25
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


@dataclass(frozen=True)
class _State:
    """What ``run/mongodb.json`` records about the running server."""

    pid: int
    token: str | None  # process start time: tells a recycled pid from our server
    port: int
    started_at: str
    options: dict[str, object]


# --- locating and probing processes ---------------------------------------------------------


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


def _proc_stat(pid: int) -> list[str] | None:
    """Return the fields of /proc/<pid>/stat after the command name, or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rpartition(")")[2].split()


def _start_token(pid: int) -> str | None:
    """Return the process start time (Linux), which a recycled pid cannot share."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _pid_alive(pid: int, token: str | None = None) -> bool:
    """Whether ``pid`` runs and is still the process we recorded.

    A zombie counts as gone only once all its threads have exited: a killed multi-threaded
    server shows its leader as a zombie while other threads still hold its files and locks.
    """
    if Path("/proc/self/stat").exists():
        fields = _proc_stat(pid)
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


def _free_port() -> int:
    """Return a loopback port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _uri(port: int) -> str:
    # retryWrites=false: see "Retryable writes" in the module docstring.
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


def _server_pid(port: int, timeout: float = PING_TIMEOUT_SECONDS) -> int | None:
    """Ping the server on ``port``; return the pid it reports, or None if nothing answers."""
    ms = int(timeout * 1000)
    try:
        with MongoClient(
            _uri(port), serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms
        ) as client:
            client.admin.command("ping")
            return int(client.admin.command("serverStatus").get("pid", -1))
    except PyMongoError:
        return None


def _answers_as(port: int, pid: int, patience: float = 10.0) -> bool:
    """Whether the server on ``port`` is ``pid``, allowing a busy server a few slow pings."""
    deadline = time.monotonic() + patience
    while True:
        if _server_pid(port) == pid:
            return True
        if time.monotonic() >= deadline or not _pid_alive(pid):
            return False


def _port_open(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback ``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _lock_holder(path: Path) -> int | None:
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


def _check_storage_unlocked(storage: Path, patience: float = 3.0) -> None:
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
                holder = _lock_holder(lock_file)
            else:
                fcntl.lockf(handle, fcntl.LOCK_UN)
                return
        if time.monotonic() >= deadline:
            raise _locked_error(storage, holder)
        time.sleep(0.1)


def _locked_error(storage: Path, holder: int | None) -> EmbeddedServerError:
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


# --- files in the run directory -------------------------------------------------------------


@contextlib.contextmanager
def _flocked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (serialises our processes, released on crash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_state(path: Path) -> _State | None:
    """Return the recorded server, or None if there is none (or the file is unreadable)."""
    try:
        return _State(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _write_state(path: Path, state: _State) -> None:
    """Write the state file atomically, so a reader never sees half of it."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    os.replace(tmp, path)


def _live_users(users_dir: Path) -> list[Path]:
    """Return the user files of live processes, deleting those of dead ones."""
    live = []
    for user in users_dir.glob("*-*-*"):
        pid, token, _ = user.name.split("-", 2)
        if pid.isdigit() and _pid_alive(int(pid), None if token == "none" else token):
            live.append(user)
        else:
            user.unlink(missing_ok=True)
    return live


def _log_tail(log_file: Path, offset: int = 0) -> str:
    """Return the last lines the server wrote since ``offset``."""
    try:
        with log_file.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-LOG_TAIL_LINES:]) or "(empty log)"


# --- starting and stopping the process ------------------------------------------------------


class _Launch:
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
        return _log_tail(self.log_file, self.offset)


def _wait_ready(launch: _Launch, port: int, timeout: float) -> None:
    """Wait until the server answers ping; raise with its log tail if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if launch.proc.poll() is not None:
            raise EmbeddedServerError(
                f"{EXECUTABLE} exited with code {launch.proc.returncode} while starting; "
                f"log {launch.log_file}:\n{launch.tail()}"
            )
        if _port_open(port) and _server_pid(port) == launch.proc.pid:
            return
        time.sleep(0.05)
    _terminate(launch.proc.pid, None, launch.proc)
    raise EmbeddedServerError(
        f"{EXECUTABLE} did not answer ping within {timeout:.0f} s; "
        f"log {launch.log_file}:\n{launch.tail()}"
    )


def _bindable(port: int) -> bool:
    """Whether a server could listen on the loopback ``port`` now (as the server binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_bindable(port: int, patience: float) -> bool:
    """Wait up to ``patience`` seconds for ``port`` to be free; return whether it is."""
    deadline = time.monotonic() + patience
    while not _bindable(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def _spawn(
    storage: str,
    options: ServerOptions,
    run_dir: Path,
    log_file: Path,
    timeout: float,
    *,
    port: int | None = None,
    port_patience: float = 0.0,
) -> tuple[_Launch, int]:
    """Start a server and wait for it; return it and its port.

    ``port``: the port to use if it is (or within ``port_patience`` seconds becomes) free; else,
    and when a port is taken meanwhile, a free one.
    """
    config = run_dir / "secantusd.toml"
    if not config.exists():
        config.write_text("# Intentionally empty: every setting is passed on the command line.\n")
    wanted = port if port is not None and _wait_bindable(port, port_patience) else None
    if port is not None and wanted is None:
        log.error(
            "port %s of the embedded MongoDB server is still taken after %.0f s; "
            "starting it on another port",
            port,
            port_patience,
        )
    for attempt in range(PORT_ATTEMPTS):
        port = wanted if attempt == 0 and wanted is not None else _free_port()
        argv = [find_executable(), f"--config={config}", "--host=127.0.0.1", f"--port={port}"]
        launch = _Launch([*argv, f"--storage-path={storage}", *options.argv()], log_file, run_dir)
        try:
            _wait_ready(launch, port, timeout)
        except EmbeddedServerError:
            tail = launch.tail()
            if _WT_BUSY in tail:
                holder = _lock_holder(Path(storage, "WiredTiger.lock"))
                raise _locked_error(Path(storage), holder) from None
            if _PORT_BUSY in tail and attempt + 1 < PORT_ATTEMPTS:
                continue
            raise
        return launch, port
    raise AssertionError("unreachable")  # pragma: no cover


def _wait_gone(
    pid: int, token: str | None, proc: subprocess.Popen[bytes] | None, timeout: float
) -> bool:
    """Wait until the process has exited entirely (reaping it if it is our child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # For our child, only a successful wait proves that every thread (and lock) is gone.
        gone = proc.poll() is not None if proc is not None else not _pid_alive(pid, token)
        if gone:
            return True
        time.sleep(0.05)
    return False


# Servers we launched and left running for other users: referenced until exit so that their
# Popen is never garbage-collected while running (that warns), and reaped once they exit.
_detached: list[subprocess.Popen[bytes]] = []


def _detach(proc: subprocess.Popen[bytes] | None) -> None:
    """Keep a launched server's Popen around after its handle leaves, reaping finished ones."""
    _detached[:] = [p for p in _detached if p.poll() is None]
    if proc is not None and proc.poll() is None:
        _detached.append(proc)


def _terminate(
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
        if not _pid_alive(pid, token):
            break
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if _wait_gone(pid, token, proc, grace):
            break
        log.warning("embedded MongoDB pid %s ignored %s", pid, sig.name)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1)


# --- the handle -----------------------------------------------------------------------------


class EmbeddedServer:
    """A handle on the embedded SecantusDB server of one data directory (or an ephemeral one).

    :param data_dir: the data directory; storage goes to ``<data_dir>/mongodb``. ``None`` means
        ephemeral (``:memory:``); prefer :meth:`ephemeral`.
    :param sync_on_commit: fsync on every commit, so acknowledged writes survive a crash.
    :param oplog_max_entries: oplog count cap (default 5,000,000).
    :param oplog_retention_seconds: oplog age cap (default 86,400 = 24 h).
    :param noop_heartbeat_seconds: no-op oplog entry interval for idle change streams (10).
    :param log_level: the server's own log level (its output goes to :attr:`log_file`).
    :param start_timeout: seconds a new server gets to answer ping.
    :param supervise: run a watchdog that restarts the server when it dies (shared mode only).
    :param on_moved: called as ``on_moved(old_port, new_port)`` (from the watchdog thread) when
        the server had to be restarted on another port: clients of the old one cannot follow.
    """

    def __init__(
        self,
        data_dir: Path | str | None,
        *,
        sync_on_commit: bool = True,
        oplog_max_entries: int = DEFAULT_OPLOG_MAX_ENTRIES,
        oplog_retention_seconds: int = DEFAULT_OPLOG_RETENTION_SECONDS,
        noop_heartbeat_seconds: int = DEFAULT_NOOP_HEARTBEAT_SECONDS,
        log_level: str = "WARNING",
        start_timeout: float = START_TIMEOUT_SECONDS,
        supervise: bool = True,
        on_moved: Callable[[int, int], None] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().absolute() if data_dir is not None else None
        self.options = ServerOptions(
            sync_on_commit=sync_on_commit,
            oplog_max_entries=oplog_max_entries,
            oplog_retention_seconds=oplog_retention_seconds,
            noop_heartbeat_seconds=noop_heartbeat_seconds,
            log_level=log_level,
        )
        self.start_timeout = start_timeout
        self.supervise = supervise
        self.on_moved = on_moved
        self.port: int | None = None
        self.pid: int | None = None
        self.started_here = False  # whether this handle launched the process
        self._token: str | None = None
        self._launch: _Launch | None = None
        self._user_file: Path | None = None
        self._ephemeral_dir: Path | None = None
        self._owner_pid = os.getpid()  # a forked child must not release its parent's handle
        self._watchdog: Watchdog | None = None

    @classmethod
    def ephemeral(cls, *, sync_on_commit: bool = False, **options: object) -> EmbeddedServer:
        """Return a handle on a private in-memory server (tests): fast, unshared, not durable."""
        return cls(None, sync_on_commit=sync_on_commit, **options)  # type: ignore[arg-type]

    @property
    def is_ephemeral(self) -> bool:
        """Whether the storage is ``:memory:``."""
        return self.data_dir is None

    @property
    def storage_path(self) -> Path | None:
        """``<data_dir>/mongodb``, or None when ephemeral."""
        return None if self.data_dir is None else self.data_dir / "mongodb"

    @property
    def uri(self) -> str:
        """The connection string (``directConnection=true``); the server must be started."""
        if self.port is None:
            raise EmbeddedServerError("the embedded MongoDB server is not started")
        return _uri(self.port)

    def __repr__(self) -> str:
        where = "ephemeral" if self.data_dir is None else str(self.data_dir)
        return f"<EmbeddedServer {where} pid={self.pid} port={self.port}>"

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- paths ------------------------------------------------------------------------------

    def _run_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir / "run"
        if self._ephemeral_dir is None:
            self._ephemeral_dir = Path(tempfile.mkdtemp(prefix="customers-mongodb-"))
        return self._ephemeral_dir

    @property
    def log_file(self) -> Path:
        """Where the server's output goes."""
        return self._run_dir() / "mongodb.log"

    # --- start ------------------------------------------------------------------------------

    def start(self) -> EmbeddedServer:
        """Start the server, or join the one already serving this data directory."""
        if self.port is not None:
            return self
        if self.data_dir is None:
            self._start_ephemeral()
        else:
            self._start_shared(self.data_dir)
            if self.supervise:
                self._watchdog = Watchdog(
                    "embedded-mongodb", self.alive, self.revive, interval=WATCH_INTERVAL_SECONDS
                ).start()
        atexit.register(self.stop)
        return self

    def _start_ephemeral(self) -> None:
        launch, port = _spawn(
            ":memory:", self.options, self._run_dir(), self.log_file, self.start_timeout
        )
        self._adopt(launch.proc.pid, port, launch)

    def _start_shared(self, data_dir: Path) -> None:
        run_dir = self._run_dir()
        users_dir = run_dir / "mongodb.users"
        users_dir.mkdir(parents=True, exist_ok=True)
        with _flocked(run_dir / "mongodb.lock"):
            recorded = _read_state(run_dir / "mongodb.json")
            state = self._running_state(run_dir / "mongodb.json")
            if state is None:
                # A dead server's port first: other processes' clients still point at it.
                port = recorded.port if recorded is not None else None
                state = self._launch_shared(data_dir, run_dir, port=port)
            self._token = state.token
            self._adopt(state.pid, state.port, self._launch)
            self._register(users_dir)

    def _running_state(self, state_file: Path) -> _State | None:
        """Return the recorded server if it is alive and answering, else forget it."""
        state = _read_state(state_file)
        if state is None:
            return None
        if _pid_alive(state.pid, state.token):
            if _answers_as(state.port, state.pid):
                self._warn_if_options_differ(state)
                return state
            raise EmbeddedServerError(
                f"The embedded MongoDB server (pid {state.pid}, port {state.port}) of "
                f"{self.data_dir} is running but does not answer ping; see {self.log_file}. "
                f"Stop it (kill {state.pid}) and retry."
            )
        log.info("embedded MongoDB pid %s is gone; starting a new one", state.pid)
        state_file.unlink(missing_ok=True)
        return None

    def _warn_if_options_differ(self, state: _State) -> None:
        if state.options != asdict(self.options):
            log.warning(
                "reusing the embedded MongoDB server started with %s (asked for %s)",
                state.options,
                asdict(self.options),
            )

    def _launch_shared(self, data_dir: Path, run_dir: Path, *, port: int | None = None) -> _State:
        storage = data_dir / "mongodb"
        storage.parent.mkdir(parents=True, exist_ok=True)
        _check_storage_unlocked(storage)
        launch, port = _spawn(
            str(storage),
            self.options,
            run_dir,
            self.log_file,
            self.start_timeout,
            port=port,
            port_patience=PORT_PATIENCE_SECONDS,
        )
        self._launch = launch
        state = _State(
            pid=launch.proc.pid,
            token=_start_token(launch.proc.pid),
            port=port,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            options=asdict(self.options),
        )
        _write_state(run_dir / "mongodb.json", state)
        log.info("started embedded MongoDB pid %s on port %s (%s)", state.pid, port, storage)
        return state

    def _adopt(self, pid: int, port: int, launch: _Launch | None) -> None:
        self.pid, self.port, self._launch = pid, port, launch
        self.started_here = launch is not None

    def _register(self, users_dir: Path) -> None:
        me = os.getpid()
        name = f"{me}-{_start_token(me) or 'none'}-{secrets.token_hex(4)}"
        self._user_file = users_dir / name
        self._user_file.touch()

    # --- supervision ------------------------------------------------------------------------

    def alive(self) -> bool:
        """Whether the server this handle uses still runs (a cheap ``/proc`` look-up)."""
        pid = self.pid
        return pid is None or _pid_alive(pid, self._token)

    def revive(self) -> None:
        """Restart the server if it died, or adopt the one another process restarted.

        Every process sharing the data directory may call this when it sees the server gone;
        the flock makes exactly one of them start a new server, on the same port if possible
        (so every client just reconnects), and the others adopt it. A server that is alive
        but slow is left alone: only a dead one is replaced.
        """
        if self.data_dir is None or self.port is None:
            return
        run_dir = self._run_dir()
        with _flocked(run_dir / "mongodb.lock"):
            state = _read_state(run_dir / "mongodb.json")
            if state is not None and state.pid == self.pid and _pid_alive(state.pid, state.token):
                return  # still (or again) ours
            _detach(self._launch.proc if self._launch is not None else None)  # reap our dead child
            self._launch = None
            if state is None or not _pid_alive(state.pid, state.token):
                log.error(
                    "the embedded MongoDB server (pid %s) died; restarting it on port %s",
                    self.pid,
                    self.port,
                )
                state = self._launch_shared(self.data_dir, run_dir, port=self.port)
            self._follow(state)
            if self._user_file is not None and not self._user_file.exists():
                self._user_file.touch()  # pruned while we looked dead to someone: back in

    def _follow(self, state: _State) -> None:
        """Point this handle at the server ``state`` describes (restarted here or elsewhere)."""
        old_port = self.port
        self._token = state.token
        self._adopt(state.pid, state.port, self._launch)
        log.warning("using the embedded MongoDB server pid %s on port %s", state.pid, state.port)
        if old_port is not None and state.port != old_port:
            log.error(
                "the embedded MongoDB server moved from port %s to port %s (the old port was "
                "taken); clients of the old port cannot follow it",
                old_port,
                state.port,
            )
            if self.on_moved is not None:
                self.on_moved(old_port, state.port)

    # --- stop -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Leave the server; stop it if no live user is left (ephemeral: always stop it)."""
        if self.port is None or os.getpid() != self._owner_pid:
            return
        atexit.unregister(self.stop)
        if self._watchdog is not None:
            self._watchdog.stop(timeout=self.start_timeout + STOP_TIMEOUT_SECONDS)
            self._watchdog = None
        proc = self._launch.proc if self._launch else None
        if self.data_dir is None:
            _terminate(self.pid or 0, None, proc, graceful=False)
            if self._ephemeral_dir is not None:
                shutil.rmtree(self._ephemeral_dir, ignore_errors=True)
        else:
            self._leave_shared(proc)
        self.port = self.pid = None
        self._launch = None

    def _leave_shared(self, proc: subprocess.Popen[bytes] | None) -> None:
        run_dir = self._run_dir()
        with _flocked(run_dir / "mongodb.lock"):
            if self._user_file is not None:
                self._user_file.unlink(missing_ok=True)
            if _live_users(run_dir / "mongodb.users"):
                _detach(proc)
                return
            state = _read_state(run_dir / "mongodb.json")
            pid, token = (state.pid, state.token) if state else (self.pid or 0, self._token)
            _terminate(pid, token, proc if proc is not None and proc.pid == pid else None)
            (run_dir / "mongodb.json").unlink(missing_ok=True)
            _detach(proc)  # reaps our own launch if it died and someone else's server replaced it
            log.info("stopped embedded MongoDB pid %s", pid)
