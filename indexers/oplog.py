"""Keeping the embedded server's oplog bounded without cutting off the indexer.

What SecantusDB 0.7.0b3 actually does (read in its storage.py, confirmed by experiment):

- It prunes **by itself every 1,000 oplog entries** (``_OPLOG_PRUNE_INTERVAL``) down to the caps it
  was started with (``--oplog-max-entries``, ``--oplog-retention-seconds``). The "303 entries kept
  under a cap of 10" measurement only shows that fewer than 1,000 writes had happened. Quiet
  servers are not pruned, so the age cap alone is applied only when someone asks:
- ``secantusAdmin.pruneOplog`` (send it as ``client.admin.command("secantusAdmin.pruneOplog")``;
  ``{"secantusAdmin": "pruneOplog"}`` is CommandNotFound) prunes to the same caps at once and
  returns ``{"pruned": n}``. It takes no arguments: one cannot prune "up to a point".
- A **resume** (aggregate with ``resumeAfter``) from a pruned point fails with code 286
  ``ChangeStreamHistoryLost`` -- but an **open** change-stream cursor that falls behind the prune
  point silently skips the pruned entries (no CappedPositionLost). The indexer therefore re-checks
  that its previous token is still resumable before it trusts a new position
  (:func:`resumable`), which turns that silent gap into a loud full reindex.

- After a batch that ended in a transaction's entry, the stream's resume token
  (postBatchResumeToken) carries that entry's namespace (``customers.$cmd``), and a resume from
  it is refused ("refusing cross-namespace resume", code 13): a checkpoint taken at rest after
  any transactional write could never be resumed, so every restart of the indexer (or of the
  server) failed forever. :func:`scoped_token` re-mints such a token for the watched namespace
  at the same oplog sequence, which is all a resume uses.

Caps (the embedded manager's defaults, kept): 5,000,000 entries / 24 h. A 1,000,000-customer
import writes 1,000,000 entries (insert_many: one per document) in about a minute at ~16k docs/s,
while the indexer applies about 3,500 events/s on this 2-core machine (tantivy-bound; reading
alone is ~8,000/s), so it falls at most ~1,000,000 entries / ~5 minutes behind: far inside both
caps. An indexer that is down for more than 24 h, or an import of more than 5,000,000 customers
while it is down, ends in history lost -> automatic full reindex (cheaper than replaying that
many events anyway).

Schedule (:class:`OplogPruner`, run by the active indexer): every ``interval`` seconds, and only
when the indexer is caught up (everything pruned is then before its checkpoint) and no reindex is
running, send ``pruneOplog``. On a server without the command (real MongoDB sizes its own oplog)
the pruner disables itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import bson
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError

__all__ = [
    "HISTORY_LOST_CODES",
    "HistoryLost",
    "OplogPruner",
    "is_history_lost",
    "prune_oplog",
    "resumable",
    "scoped_token",
]

log = logging.getLogger("customers.indexer.oplog")

PRUNE_COMMAND = "secantusAdmin.pruneOplog"
COMMAND_NOT_FOUND = 59
HISTORY_LOST_CODES = frozenset({286, 136, 40585})
"""ChangeStreamHistoryLost, CappedPositionLost, "resume token was not found" (Location40585)."""
HISTORY_LOST_TEXT = (
    "resume point may no longer be in the oplog",
    "resume token was not found",
    "cappedpositionlost",
    "changestreamhistorylost",
)


class HistoryLost(Exception):
    """The change-stream position is gone (or never existed): a full reindex is needed."""


def is_history_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the change-stream position fell off the oplog."""
    if not isinstance(exc, OperationFailure):
        return False
    if exc.code in HISTORY_LOST_CODES:
        return True
    text = str(exc).lower()
    return any(marker in text for marker in HISTORY_LOST_TEXT)


async def prune_oplog(client_or_db: Any) -> int | None:
    """Run ``secantusAdmin.pruneOplog``; return the entries pruned, None if unsupported."""
    admin = (
        client_or_db.client.admin
        if isinstance(client_or_db, AsyncDatabase)
        else (client_or_db.admin)
    )
    try:
        reply = await admin.command(PRUNE_COMMAND)
    except OperationFailure as exc:
        if exc.code == COMMAND_NOT_FOUND or "no such command" in str(exc).lower():
            return None
        raise
    return int(reply.get("pruned", 0))


def scoped_token(token: Any, namespace: str) -> Any:
    """``token`` for a stream on ``namespace`` (``db.collection``): a SecantusDB token minted
    with another namespace is re-minted at the same oplog position (see the module docstring);
    any other token (MongoDB's KeyString ones) is returned unchanged."""
    data = token.get("_data") if isinstance(token, dict) else None
    if not isinstance(data, str):
        return token
    try:
        inner = bson.decode(bytes.fromhex(data))
    except Exception:  # not SecantusDB's hex BSON: MongoDB's opaque KeyString
        return token
    if not isinstance(inner.get("s"), int) or inner.get("n") in (None, namespace):
        return token
    return {"_data": bson.encode({**inner, "n": namespace, "k": {}}).hex()}


async def resumable(database: AsyncDatabase[Any], collection: str, token: Any) -> bool:
    """Whether a change stream could still resume after ``token`` (cheap: no events returned).

    :raise OperationFailure: for errors other than history lost.
    """
    token = scoped_token(token, f"{database.name}.{collection}")
    try:
        reply = await database.command(
            {
                "aggregate": collection,
                "pipeline": [{"$changeStream": {"resumeAfter": token}}],
                "cursor": {"batchSize": 0},
            }
        )
    except OperationFailure as exc:
        if is_history_lost(exc):
            return False
        raise
    cursor_id = reply.get("cursor", {}).get("id")
    if cursor_id:
        try:
            await database.command({"killCursors": collection, "cursors": [cursor_id]})
        except PyMongoError:  # best effort: the server reaps idle cursors anyway
            log.debug("killCursors failed", exc_info=True)
    return True


class OplogPruner:
    """Prune the embedded oplog now and then, only while the indexer is caught up.

    :param database: any database of the server (the command runs on ``admin``).
    :param interval: seconds between prunes (None or 0 = never).
    """

    def __init__(self, database: AsyncDatabase[Any], *, interval: float | None = 600.0) -> None:
        self.database = database
        self.interval = interval
        self.supported: bool | None = None
        self.pruned_total = 0
        # The first prune comes one interval after start, not during start-up catch-up.
        self.last_run: float | None = time.monotonic()
        self._task: asyncio.Task[int] | None = None

    def __repr__(self) -> str:
        return f"<OplogPruner interval={self.interval} pruned={self.pruned_total}>"

    def due(self) -> bool:
        if not self.interval or self.supported is False:
            return False
        return self.last_run is None or time.monotonic() - self.last_run >= self.interval

    def maybe_start(self, *, caught_up: bool, reindexing: bool) -> asyncio.Task[int] | None:
        """Start a prune in the background if due and safe (the sync loop never waits on it)."""
        if not caught_up or reindexing or not self.due():
            return None
        if self._task is not None and not self._task.done():
            return None
        self.last_run = time.monotonic()
        self._task = asyncio.create_task(self.prune(), name="oplog-prune")
        return self._task

    async def maybe_prune(self, *, caught_up: bool, reindexing: bool) -> int:
        """Prune now if due and safe; return the entries pruned (0 when skipped)."""
        if not caught_up or reindexing or not self.due():
            return 0
        self.last_run = time.monotonic()
        return await self.prune()

    async def prune(self) -> int:
        """Prune now (the caller checked that the indexer is caught up)."""
        try:
            pruned = await prune_oplog(self.database)
        except PyMongoError:
            log.warning("oplog prune failed", exc_info=True)
            return 0
        if pruned is None:
            self.supported = False
            log.info("server has no %s; oplog pruning left to the server", PRUNE_COMMAND)
            return 0
        self.supported = True
        self.pruned_total += pruned
        if pruned:
            log.info("pruned %d oplog entries", pruned)
        return pruned
