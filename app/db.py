"""Connecting to MongoDB: ``MONGODB_URI`` when set, else the embedded server of the data dir.

Two entry points, because PyMongo's ``AsyncMongoClient`` is bound to the event loop it was
first used on:

- :func:`open_client` for code that runs on the loop that will use the client;
- :func:`mongodb_uri_for` (sync) for callers that create their own client on their own loop
  (the Flask app's loop thread, the indexer, the CLI).

Every client is ``tz_aware=True``: stored datetimes come back as aware UTC datetimes.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from app.config import Settings
from app.embedded import EmbeddedServer

__all__ = ["close_client", "mongodb_uri_for", "open_client"]

# One handle per data dir for mongodb_uri_for(): its callers never stop the server themselves;
# the handle leaves (and stops the server if it is the last user) at interpreter exit.
_shared: dict[Path, EmbeddedServer] = {}
_shared_lock = threading.Lock()


def _client(uri: str) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(uri, tz_aware=True)


async def open_client(
    settings: Settings,
) -> tuple[AsyncMongoClient[dict[str, Any]], EmbeddedServer | None]:
    """Connect to MongoDB; return the client and the embedded server handle it needs, if any.

    The caller owns both: pass them to :func:`close_client` when done. The embedded server is
    started (or joined) in a worker thread, so a slow start does not block the event loop.
    """
    if settings.mongodb_uri:
        return _client(settings.mongodb_uri), None
    server = EmbeddedServer(settings.data_dir)
    await asyncio.to_thread(server.start)
    return _client(server.uri), server


async def close_client(
    client: AsyncMongoClient[dict[str, Any]], server: EmbeddedServer | None
) -> None:
    """Close the client, then leave the embedded server (stopping it if we were its last user)."""
    await client.close()
    if server is not None:
        await asyncio.to_thread(server.stop)


def mongodb_uri_for(settings: Settings) -> str:
    """Return the MongoDB URI to connect to, starting or joining the embedded server if needed."""
    if settings.mongodb_uri:
        return settings.mongodb_uri
    key = Path(settings.data_dir).expanduser().absolute()
    with _shared_lock:
        server = _shared.get(key)
        if server is None or server.port is None:
            server = _shared[key] = EmbeddedServer(key)
        return server.start().uri
