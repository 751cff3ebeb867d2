"""The embedded MongoDB-wire server: SecantusDB's ``secantusd-py`` run as a separate process.

Why a separate process: SecantusDB is GPL-2.0, so we only ever talk to it over the MongoDB wire
protocol (arm's length), and it gets its own interpreter and core instead of sharing our GIL.

Persistent mode keeps everything under the data directory (``CUSTOMERS_DATA_DIR``)::

    mongodb/                WiredTiger storage (the server holds mongodb/WiredTiger.lock)
    run/                    the files every process of ours shares (:mod:`.rundir`)

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
SecantusDB (the version ``pyproject.toml`` pins) records every retryable write's reply for
30 minutes, capped at 10,000 records, and on every such write scans all records and, above
the cap, sorts them all, under a global lock. Measured at 1,000,000 customers: 200 plain
updates/s ran for ~95 s, until the cap was reached, then each write cost more than 5 ms and
the server collapsed (stalls of 0.3 s growing to 43 s, everything queued behind them); with
retryable writes off, 150 s at 200 updates/s without a single 200 ms stall. What is given
up: the driver's one automatic retry of a write after a network error on a loopback
connection, which then surfaces as an error instead (nothing acknowledged is affected). Real
MongoDB keeps the driver default.

They apply when a server is started; a process that reuses a running server gets the options
that server was started with (a mismatch is logged).

Ephemeral mode (:meth:`EmbeddedServer.ephemeral`) runs ``--storage-path :memory:`` for tests: no
state files, not shared, gone when stopped.

The parts: :mod:`.probes` (looking at processes and ports), :mod:`.rundir` (the shared files),
:mod:`.launch` (starting and stopping a server process), :mod:`.server` (the handle).
"""

from app.embedded.launch import (
    DEFAULT_NOOP_HEARTBEAT_SECONDS,
    DEFAULT_OPLOG_MAX_ENTRIES,
    DEFAULT_OPLOG_RETENTION_SECONDS,
    EmbeddedServerError,
    ServerOptions,
    find_executable,
)
from app.embedded.server import EmbeddedServer

__all__ = [
    "DEFAULT_NOOP_HEARTBEAT_SECONDS",
    "DEFAULT_OPLOG_MAX_ENTRIES",
    "DEFAULT_OPLOG_RETENTION_SECONDS",
    "EmbeddedServer",
    "EmbeddedServerError",
    "ServerOptions",
    "find_executable",
]
