"""The handle on one data directory's embedded server (or an ephemeral one): start or join,
watch and revive, leave (stopping it when last)."""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from app.embedded.launch import (
    DEFAULT_NOOP_HEARTBEAT_SECONDS,
    DEFAULT_OPLOG_MAX_ENTRIES,
    DEFAULT_OPLOG_RETENTION_SECONDS,
    STOP_TIMEOUT_SECONDS,
    EmbeddedServerError,
    Launch,
    ServerOptions,
    check_storage_unlocked,
    detach,
    spawn,
    terminate,
)
from app.embedded.probes import answers_as, loopback_uri, pid_alive, start_token
from app.embedded.rundir import State, flocked, live_users, read_state, write_state
from app.supervision import Watchdog

__all__ = ["EmbeddedServer"]

log = logging.getLogger("customers.embedded")  # with the service's logs (JSON lines in serve)

START_TIMEOUT_SECONDS = 30.0  # until the new server must answer ping
WATCH_INTERVAL_SECONDS = 0.5  # how often a handle checks that its server still runs
PORT_PATIENCE_SECONDS = 5.0  # a restart waits this long for the old port before moving


class EmbeddedServer:
    """A handle on the embedded SecantusDB server of one data directory (or an ephemeral one).

    :param data_dir: the data directory; storage goes to ``<data_dir>/mongodb``. ``None`` means
        ephemeral (``:memory:``); prefer :meth:`ephemeral`.
    :param sync_on_commit: fsync on every commit, so acknowledged writes survive a crash.
    :param oplog_max_entries: oplog count cap (default 5,000,000).
    :param oplog_retention_seconds: oplog age cap (default 86,400 = 24 h).
    :param noop_heartbeat_seconds: no-op oplog entry interval for idle change streams (10).
    :param log_level: the server's own log level (its output goes to :attr:`log_file`).
    :param start_timeout: seconds a new server gets to answer ping, plus some for each GB it
        stores (:func:`~app.embedded.launch.start_budget`).
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
        self._launch: Launch | None = None
        self._user_file: Path | None = None
        self._ephemeral_dir: Path | None = None
        self._owner_pid = os.getpid()  # a forked child must not release its parent's handle
        self._watchdog: Watchdog | None = None

    @classmethod
    def ephemeral(cls, *, sync_on_commit: bool = False, **options: object) -> EmbeddedServer:
        """Return a handle on a private in-memory server (tests): fast, unshared, not durable."""
        # ``options`` are the constructor's keyword options, forwarded as they came
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
        return loopback_uri(self.port)

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
        launch, port = spawn(
            ":memory:", self.options, self._run_dir(), self.log_file, self.start_timeout
        )
        self._adopt(launch.proc.pid, port, launch)

    def _start_shared(self, data_dir: Path) -> None:
        run_dir = self._run_dir()
        users_dir = run_dir / "mongodb.users"
        users_dir.mkdir(parents=True, exist_ok=True)
        with flocked(run_dir / "mongodb.lock"):
            recorded = read_state(run_dir / "mongodb.json")
            state = self._running_state(run_dir / "mongodb.json")
            if state is None:
                # A dead server's port first: other processes' clients still point at it.
                port = recorded.port if recorded is not None else None
                state = self._launch_shared(data_dir, run_dir, port=port)
            self._token = state.token
            self._adopt(state.pid, state.port, self._launch)
            self._register(users_dir)

    def _running_state(self, state_file: Path) -> State | None:
        """Return the recorded server if it is alive and answering, else forget it."""
        state = read_state(state_file)
        if state is None:
            return None
        if pid_alive(state.pid, state.token):
            if answers_as(state.port, state.pid):
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

    def _warn_if_options_differ(self, state: State) -> None:
        if state.options != asdict(self.options):
            log.warning(
                "reusing the embedded MongoDB server started with %s (asked for %s)",
                state.options,
                asdict(self.options),
            )

    def _launch_shared(self, data_dir: Path, run_dir: Path, *, port: int | None = None) -> State:
        storage = data_dir / "mongodb"
        storage.parent.mkdir(parents=True, exist_ok=True)
        check_storage_unlocked(storage)
        launch, port = spawn(
            str(storage),
            self.options,
            run_dir,
            self.log_file,
            self.start_timeout,
            port=port,
            port_patience=PORT_PATIENCE_SECONDS,
        )
        self._launch = launch
        state = State(
            pid=launch.proc.pid,
            token=start_token(launch.proc.pid),
            port=port,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            options=asdict(self.options),
        )
        write_state(run_dir / "mongodb.json", state)
        log.info("started embedded MongoDB pid %s on port %s (%s)", state.pid, port, storage)
        return state

    def _adopt(self, pid: int, port: int, launch: Launch | None) -> None:
        self.pid, self.port, self._launch = pid, port, launch
        self.started_here = launch is not None

    def _register(self, users_dir: Path) -> None:
        me = os.getpid()
        name = f"{me}-{start_token(me) or 'none'}-{secrets.token_hex(4)}"
        self._user_file = users_dir / name
        self._user_file.touch()

    # --- supervision ------------------------------------------------------------------------

    def alive(self) -> bool:
        """Whether the server this handle uses still runs (a cheap ``/proc`` look-up)."""
        pid = self.pid
        return pid is None or pid_alive(pid, self._token)

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
        with flocked(run_dir / "mongodb.lock"):
            state = read_state(run_dir / "mongodb.json")
            if state is not None and state.pid == self.pid and pid_alive(state.pid, state.token):
                return  # still (or again) ours
            detach(self._launch.proc if self._launch is not None else None)  # reap our dead child
            self._launch = None
            if state is None or not pid_alive(state.pid, state.token):
                log.error(
                    "the embedded MongoDB server (pid %s) died; restarting it on port %s",
                    self.pid,
                    self.port,
                )
                state = self._launch_shared(self.data_dir, run_dir, port=self.port)
            self._follow(state)
            if self._user_file is not None and not self._user_file.exists():
                self._user_file.touch()  # pruned while we looked dead to someone: back in

    def _follow(self, state: State) -> None:
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
            terminate(self.pid or 0, None, proc, graceful=False)
            if self._ephemeral_dir is not None:
                shutil.rmtree(self._ephemeral_dir, ignore_errors=True)
        else:
            self._leave_shared(proc)
        self.port = self.pid = None
        self._launch = None

    def _leave_shared(self, proc: subprocess.Popen[bytes] | None) -> None:
        run_dir = self._run_dir()
        with flocked(run_dir / "mongodb.lock"):
            if self._user_file is not None:
                self._user_file.unlink(missing_ok=True)
            if live_users(run_dir / "mongodb.users"):
                detach(proc)
                return
            state = read_state(run_dir / "mongodb.json")
            pid, token = (state.pid, state.token) if state else (self.pid or 0, self._token)
            terminate(pid, token, proc if proc is not None and proc.pid == pid else None)
            (run_dir / "mongodb.json").unlink(missing_ok=True)
            detach(proc)  # reaps our own launch if it died and someone else's server replaced it
            log.info("stopped embedded MongoDB pid %s", pid)
