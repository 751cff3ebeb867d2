"""Connecting to MongoDB: ``MONGODB_URI`` when set, else the embedded server of the data dir.

PyMongo's ``AsyncMongoClient`` is bound to the event loop it was first used on, so a client is
made on the loop that will use it: :func:`open_client` (one-shot commands), or
:func:`new_client` on the runtime's loop (:mod:`app.bootstrap`, which then holds the embedded
server's handle itself).

Every client is made by :func:`new_client`: ``tz_aware=True`` (stored datetimes come back as
aware UTC datetimes), and timeouts that make an operation fail fast while MongoDB is
unreachable instead of waiting PyMongo's default 30 s (the API answers 503, see
``app/api/error_handlers.py``):

- ``serverSelectionTimeoutMS`` = 1,000: an operation waits at most 1 s for a reachable server.
  While it waits, the driver re-checks the server every 0.5 s, so a restarted server is found
  at once; a dead one costs the request 1 s, not 30.
- ``connectTimeoutMS`` = 5,000 (PyMongo: 20 s): a new connection to a host that does not answer
  (down, or behind a partition) gives up after 5 s. It is also how long a heartbeat may be
  late: when one times out the driver marks the server unknown and interrupts the operations
  in flight on it. Not lower, because a busy server can be slow to answer a heartbeat and a
  false alarm interrupts every operation in flight.
- ``heartbeatFrequencyMS`` = 2,000 (PyMongo: 10 s): with the above, a server that hangs
  without closing its sockets (SIGSTOP, a partition) is noticed within about 7 s, after which
  requests fail in 1 s (measured: the longest request waited 8.5 s, against 16 s with the
  default heartbeat). A heartbeat is one small command every 2 s per client.
- No ``socketTimeoutMS``: it would cut legitimately long reads (the reindex copy, a change
  stream's await); a server that dies closes its sockets, and a hung one is caught by the
  heartbeat as above.

The sync indexer's client is *patient* (:data:`PATIENT`): ``connectTimeoutMS`` = 600,000. The
embedded server answers a read of a whole collection only after reading all of it, holding its
storage lock, and meanwhile answers no other command: at 1,000,000 customers that is minutes,
and with the 5 s above the driver interrupted the reindex's copy ("operation cancelled"), so
the reindex started over, and over. The indexer waits instead; the API's
requests keep failing fast (503) while the server is that busy, and the read-your-writes probe
runs on the API's client.

A timeout set in ``MONGODB_URI`` wins over these defaults.
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pymongo import AsyncMongoClient

from app.config import Settings
from app.embedded import EmbeddedServer

__all__ = [
    "FAIL_FAST",
    "PATIENT",
    "client_options",
    "close_client",
    "new_client",
    "open_client",
]

FAIL_FAST: dict[str, int] = {
    "serverSelectionTimeoutMS": 1_000,  # ms an operation waits for a reachable server
    "connectTimeoutMS": 5_000,  # ms a new connection (or a late heartbeat) waits
    "heartbeatFrequencyMS": 2_000,  # ms between two checks that the server still answers
}


PATIENT: dict[str, int] = {
    "connectTimeoutMS": 600_000,  # ms a heartbeat may be late before operations are interrupted
}
"""The sync indexer's client: it waits for a server busy with a long read (module docstring)."""


def client_options(uri: str, *, patient: bool = False) -> dict[str, Any]:
    """Return the options of a client of ``uri``: aware datetimes, and the fail-fast timeouts
    (with ``patient``, the indexer's) that the URI does not set itself."""
    given = {name.lower() for name in parse_qs(urlsplit(uri).query)}
    defaults = {**FAIL_FAST, **PATIENT} if patient else FAIL_FAST
    timeouts = {name: ms for name, ms in defaults.items() if name.lower() not in given}
    return {"tz_aware": True, "tzinfo": UTC, **timeouts}


def new_client(uri: str, *, patient: bool = False) -> AsyncMongoClient[dict[str, Any]]:
    """Return a client of ``uri`` with :func:`client_options` (bound to the running loop)."""
    return AsyncMongoClient(uri, **client_options(uri, patient=patient))


async def open_client(
    settings: Settings, *, patient: bool = False
) -> tuple[AsyncMongoClient[dict[str, Any]], EmbeddedServer | None]:
    """Connect to MongoDB; return the client and the embedded server handle it needs, if any.

    The caller owns both: pass them to :func:`close_client` when done. The embedded server is
    started (or joined) in a worker thread, so a slow start does not block the event loop.
    ``patient``: a client for the sync indexer (:data:`PATIENT`).
    """
    if settings.mongodb_uri:
        return new_client(settings.mongodb_uri, patient=patient), None
    server = EmbeddedServer(settings.data_dir)
    await asyncio.to_thread(server.start)
    return new_client(server.uri, patient=patient), server


async def close_client(
    client: AsyncMongoClient[dict[str, Any]], server: EmbeddedServer | None
) -> None:
    """Close the client, then leave the embedded server (stopping it if we were its last user)."""
    await client.close()
    if server is not None:
        await asyncio.to_thread(server.stop)
