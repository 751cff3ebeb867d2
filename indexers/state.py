"""The sync indexer's state in MongoDB: checkpoint, lease, applied position, dead letters.

One document per index in ``indexer_state`` (``_id`` = the index name, e.g. ``"customers"``)::

    {_id: "customers",
     owner: "host:pid:rand" | null,      # the lease: who may write the index and the checkpoint
     lease_expires_at: datetime,          # renewed every ttl/3 by the holder; a standby takes over
                                          # after it passes (or at once if the holder's pid is dead
                                          # on this host)
     resume_token: {...} | null,          # the driver's ChangeStream.resume_token, saved only after
                                          # everything before it was applied (or dead-lettered)
     position: {ts: Timestamp, seq: int | null},   # what the index is known to contain up to
     checkpoint_at: datetime,             # when the checkpoint was written
     caught_up_at: datetime | null,       # the last time the indexer saw the end of the stream
     wanted_seq / wanted_ts,              # read-your-writes demand from other processes
     reindex_required: {reason, at} | null,  # set on "no checkpoint" / history lost / invalidate;
                                          # cleared only after a new generation is activated
     reindex_requested_at: datetime | null,  # `customers reindex` asks the active indexer
     reindex: {generation, copied, total, started_at, rate} | null,  # progress while running
     last_reindex: {...},                 # the last finished reindex
     counters: {...}}

Dead letters go to ``indexer_dead_letters``: ``{_id: "<index>:<customer id>:<version>", index,
customer_id, version, reason, at}`` (the id makes a replayed rejection idempotent).

Every write the holder makes is fenced by ``owner``: a paused ex-holder can never overwrite the
checkpoint of the instance that replaced it (:class:`LeaseLost`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
from bson.timestamp import Timestamp
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.erasure_records import DEAD_LETTERS_COLLECTION

__all__ = [
    "DEAD_LETTERS_COLLECTION",
    "FIRST_BUILD",
    "STATE_COLLECTION",
    "IndexerState",
    "LeaseLost",
    "Position",
    "make_owner",
    "owner_is_dead_here",
]

STATE_COLLECTION = "indexer_state"
FIRST_BUILD = "first build: no checkpoint and no search index yet"
"""The reindex reason of a fresh data dir or database: routine, so logged at INFO, not ERROR."""


class LeaseLost(Exception):
    """Another instance holds the lease now: stop writing at once."""


def make_owner() -> str:
    """Return a lease owner id: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def owner_is_dead_here(owner: str | None) -> bool:
    """Whether ``owner`` names a process of this host that no longer runs (a crashed holder)."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A zombie (killed, not yet reaped by its parent) still answers kill(0).
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    return False


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, order=False)
class Position:
    """A point in the change stream: cluster time, plus SecantusDB's oplog sequence if known.

    SecantusDB resume tokens are hex BSON ``{s: seq, t: Timestamp, ...}``; MongoDB's are
    KeyString hex starting with ``82`` + the 8-byte cluster time. Positions compare by ``seq``
    when both have one (exact: SecantusDB mints idle tokens with fresh cluster times), else by
    cluster time.
    """

    ts: Timestamp
    seq: int | None = None

    @classmethod
    def from_token(cls, token: Any) -> Position | None:
        """Decode a resume token (``{"_data": hex}``); None when the format is unknown."""
        data = token.get("_data") if isinstance(token, dict) else None
        if not isinstance(data, str):
            return None
        try:
            raw = bytes.fromhex(data)
        except ValueError:
            return None
        with contextlib.suppress(Exception):
            inner = bson.decode(raw)
            ts = inner.get("t")
            if isinstance(ts, Timestamp):
                seq = inner.get("s")
                return cls(ts, int(seq) if isinstance(seq, int) else None)
        if len(raw) >= 9 and raw[0] == 0x82:  # MongoDB KeyString: CType timestamp + 8 bytes
            return cls(Timestamp(int.from_bytes(raw[1:5], "big"), int.from_bytes(raw[5:9], "big")))
        return None

    @classmethod
    def from_doc(cls, doc: Any) -> Position | None:
        if not isinstance(doc, dict) or not isinstance(doc.get("ts"), Timestamp):
            return None
        seq = doc.get("seq")
        return cls(doc["ts"], int(seq) if isinstance(seq, int) else None)

    def to_doc(self) -> dict[str, Any]:
        return {"ts": self.ts, "seq": self.seq}

    def before(self) -> Position:
        """The position just before this one (for a batch cut inside a transaction)."""
        if self.seq is not None:
            return Position(self.ts, self.seq - 1)
        if self.ts.inc > 0:
            return Position(Timestamp(self.ts.time, self.ts.inc - 1))
        return Position(Timestamp(max(self.ts.time - 1, 0), 0xFFFFFFFF))

    def covers(self, other: Position) -> bool:
        """Whether everything up to ``other`` is included up to this position."""
        if self.seq is not None and other.seq is not None:
            return self.seq >= other.seq
        return (self.ts.time, self.ts.inc) >= (other.ts.time, other.ts.inc)

    @property
    def time(self) -> datetime:
        return self.ts.as_datetime()


class IndexerState:
    """The state document of one index, and its dead letters."""

    def __init__(self, database: AsyncDatabase[Any], name: str = "customers") -> None:
        self.database = database
        self.name = name
        self.collection = database[STATE_COLLECTION]
        self.dead_letters = database[DEAD_LETTERS_COLLECTION]

    def __repr__(self) -> str:
        return f"<IndexerState {self.database.name}.{STATE_COLLECTION}/{self.name}>"

    async def load(self) -> dict[str, Any]:
        """Return the state document ({} when there is none yet)."""
        return await self.collection.find_one({"_id": self.name}) or {}

    # -- lease ----------------------------------------------------------------------------
    async def try_acquire(self, owner: str, ttl: float) -> bool:
        """Take the lease if it is free, expired, ours, or held by a dead process of this host."""
        now = utcnow()
        doc = await self.load()
        holder = doc.get("owner")
        free = (
            holder in (None, owner)
            or _expired(doc.get("lease_expires_at"), now)
            or owner_is_dead_here(holder)
        )
        if not free:
            return False
        query: dict[str, Any] = {"_id": self.name}
        if doc:  # compare-and-set on what we saw, so two standbys cannot both win
            query["owner"] = holder
            query["lease_expires_at"] = doc.get("lease_expires_at")
        try:
            result = await self.collection.update_one(
                query,
                {
                    "$set": {
                        "owner": owner,
                        "lease_expires_at": now + timedelta(seconds=ttl),
                        "lease_acquired_at": now,
                    }
                },
                upsert=not doc,
            )
        except DuplicateKeyError:
            return False
        return result.matched_count == 1 or result.upserted_id is not None

    async def renew(self, owner: str, ttl: float) -> dict[str, Any]:
        """Extend our lease; return the state document. :raise LeaseLost: if it is not ours."""
        # Two round trips: find_one_and_update costs 66 ms on SecantusDB, these 1.5 ms.
        result = await self.collection.update_one(
            {"_id": self.name, "owner": owner},
            {"$set": {"lease_expires_at": utcnow() + timedelta(seconds=ttl)}},
        )
        if result.matched_count != 1:
            raise LeaseLost(f"{owner} no longer holds the lease of {self.name!r}")
        return await self.load()

    async def release(self, owner: str) -> None:
        """Give the lease up (a standby takes over at once)."""
        await self.collection.update_one(
            {"_id": self.name, "owner": owner},
            {"$set": {"owner": None, "lease_expires_at": utcnow()}},
        )

    async def fenced_set(self, owner: str, fields: dict[str, Any], **extra: Any) -> None:
        """``$set`` fields on the state document if we hold the lease. :raise LeaseLost:"""
        update: dict[str, Any] = {"$set": fields, **extra}
        result = await self.collection.update_one({"_id": self.name, "owner": owner}, update)
        if result.matched_count != 1:
            raise LeaseLost(f"{owner} no longer holds the lease of {self.name!r}")

    # -- checkpoint -----------------------------------------------------------------------
    async def save_checkpoint(
        self,
        owner: str,
        token: Any,
        position: Position | None,
        *,
        caught_up: bool,
        counters: dict[str, int] | None = None,
    ) -> None:
        """Persist the resume token (only call after everything before it was applied)."""
        now = utcnow()
        fields: dict[str, Any] = {"resume_token": token, "checkpoint_at": now}
        if position is not None:
            fields["position"] = position.to_doc()
        if caught_up:
            fields["caught_up_at"] = now
        if counters:
            fields["counters"] = counters
        await self.fenced_set(owner, fields)

    async def require_reindex(self, owner: str, reason: str) -> None:
        """Record that the index misses history: a full reindex must finish before trusting it."""
        await self.fenced_set(owner, {"reindex_required": {"reason": reason, "at": utcnow()}})

    async def request_reindex(self) -> datetime:
        """Ask the active indexer (any process) for a zero-downtime reindex."""
        at = utcnow()
        await self.collection.update_one(
            {"_id": self.name}, {"$set": {"reindex_requested_at": at}}, upsert=True
        )
        return at

    async def demand(self, head: Position) -> None:
        """Ask the active indexer to publish a position covering ``head`` (read-your-writes)."""
        fields: dict[str, Timestamp | int] = {"wanted_ts": head.ts}
        if head.seq is not None:
            fields["wanted_seq"] = head.seq
        await self.collection.update_one({"_id": self.name}, {"$max": fields})

    # -- dead letters ---------------------------------------------------------------------
    async def dead_letter(self, customer_id: str, version: int, reason: str) -> None:
        """Record a document the backend permanently rejected (idempotent per id + version)."""
        await self.dead_letters.update_one(
            {"_id": f"{self.name}:{customer_id}:{version}"},
            {
                "$set": {
                    "index": self.name,
                    "customer_id": customer_id,
                    "version": bson.Int64(version) if version < 2**63 else version,
                    "reason": reason[:2000],
                    "at": utcnow(),
                }
            },
            upsert=True,
        )

    async def count_dead_letters(self) -> int:
        return await self.dead_letters.count_documents({"index": self.name})

    async def recent_dead_letters(self, limit: int = 10) -> list[dict[str, Any]]:
        cursor = self.dead_letters.find({"index": self.name}).sort("at", -1).limit(limit)
        return await cursor.to_list()


def _expired(expires_at: Any, now: datetime) -> bool:
    if not isinstance(expires_at, datetime):
        return True
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return expires_at <= now
