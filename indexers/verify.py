"""``customers index status`` and ``customers index verify [--repair]``: is the index right?

Verify rule (MongoDB is the truth; index versions are cluster times, not the customer's own
``version`` counter, so the two are not compared directly):

- **missing**: an id in MongoDB but not in the index → re-index it (an erased customer back in
  MongoDB, e.g. from a restored backup, is kept out of the index on purpose: not missing);
- **stray**: an id in the index but not in MongoDB (a lost delete, a resurrection) → delete it;
- **stale**: the index copy (:meth:`SearchBackend.documents`) differs in content from
  ``to_search_doc(mongo document)``, ignoring the version (index versions are cluster times)
  and comparing ``phone_digits`` as the engines hold it (derived from ``phone``);
- **duplicated**: an id with more than one live document (:meth:`SearchBackend.duplicated`;
  looked for only when the index counts more documents than ids) → re-index it, which
  replaces every copy.

Differences are re-checked after the active indexer has applied everything committed before the
check (so in-flight writes are not reported), and only persistent ones are drift. Repair goes
through the active indexer (a ``repair_ids`` request in the state document) so the index only
ever has one writer; with no indexer running, verify takes the lease and repairs itself. A
repair writes the current MongoDB state at version "cluster time before the read", so a later
event still wins.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import OperationFailure

from app.config import Settings
from app.erasure_records import erased_among
from app.textsearch import digits_of
from indexers.backends.base import SearchBackend
from indexers.documents import DOC_FIELDS, SearchDoc, to_search_doc
from indexers.freshness import probe_head, wait_for_position
from indexers.lease import active_holder
from indexers.oplog import is_history_lost
from indexers.state import IndexerState, Position
from indexers.sync import Indexer

__all__ = ["VerifyResult", "index_status", "verify"]


@dataclass
class VerifyResult:
    """Drift found by :func:`verify` (after re-checking)."""

    mongo_count: int = 0
    index_count: int = 0
    missing: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    repaired: int = 0
    content_checked: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stray or self.stale or self.duplicated)

    @property
    def drift(self) -> list[str]:
        return sorted({*self.missing, *self.stray, *self.stale, *self.duplicated})

    def summary(self, show: int = 10) -> str:
        lines = [
            f"MongoDB customers: {self.mongo_count}; index documents: {self.index_count}; "
            f"checked {'content' if self.content_checked else 'ids + versions'} "
            f"in {self.seconds:.1f}s",
        ]
        for label, ids in (
            ("missing", self.missing),
            ("stray", self.stray),
            ("stale", self.stale),
            ("duplicated", self.duplicated),
        ):
            if ids:
                sample = ", ".join(ids[:show]) + (" …" if len(ids) > show else "")
                lines.append(f"{label}: {len(ids)} ({sample})")
        lines.append("no drift" if self.ok else f"drift: {len(self.drift)} customers")
        if self.repaired:
            lines.append(f"repaired: {self.repaired}")
        return "\n".join(lines)


def _comparable(doc: SearchDoc) -> SearchDoc:
    """Return ``doc`` without what an index copy cannot be compared on (see module doc)."""
    return dataclasses.replace(doc, version=0, phone_digits=digits_of(doc.phone) or None)


def _same(raw: dict[str, Any], stored: SearchDoc) -> bool:
    try:
        expected = to_search_doc(raw, 0)
    except (ValueError, TypeError, KeyError):
        return False  # unindexable in MongoDB (dead-lettered) yet present in the index
    return _comparable(stored) == _comparable(expected)


async def _diff(
    database: Any, backend: SearchBackend, ids: list[str] | None
) -> tuple[VerifyResult, dict[str, Any]]:
    collection = database["customers"]
    projection = dict.fromkeys(DOC_FIELDS, 1)
    query = {} if ids is None else {"_id": {"$in": ids}}
    mongo = {d["_id"]: d async for d in collection.find(query, projection).hint([("_id", 1)])}
    await backend.refresh()
    versions = await backend.versions(ids)
    result = VerifyResult(mongo_count=len(mongo), index_count=len(versions))
    absent = set(mongo) - set(versions)
    result.missing = sorted(absent - await erased_among(database, absent))  # kept out on purpose
    result.stray = sorted(set(versions) - set(mongo))
    common = sorted(set(mongo) & set(versions))
    stored = await backend.documents(common) if common else {}
    result.content_checked = True
    result.stale = [i for i in common if i not in stored or not _same(mongo[i], stored[i])]
    if ids is None and await backend.count() > len(versions):
        result.duplicated = await backend.duplicated()
    return result, mongo


async def verify(
    database: Any,
    backend: SearchBackend,
    *,
    name: str = "customers",
    repair: bool = False,
    settle_timeout: float = 10.0,
) -> VerifyResult:
    """Compare MongoDB with the active index generation; repair persistent drift if asked."""
    started = time.monotonic()
    state = IndexerState(database, name)
    result, _ = await _diff(database, backend, None)
    drift = result.drift
    if drift:  # re-check after the indexer applied everything committed so far
        head = await probe_head(database)
        if active_holder(await state.load()) is not None:
            await wait_for_position(state, head, settle_timeout)
        recheck, _ = await _diff(database, backend, drift)
        result.missing, result.stray, result.stale = recheck.missing, recheck.stray, recheck.stale
        if result.duplicated:  # a write since replaced every copy of the id: not drift
            result.duplicated = await backend.duplicated()
    if repair and not result.ok:
        result.repaired = await _repair(database, backend, state, result.drift)
    result.seconds = time.monotonic() - started
    return result


async def _repair(
    database: Any, backend: SearchBackend, state: IndexerState, ids: list[str]
) -> int:
    doc = await state.load()
    if active_holder(doc) is None:
        indexer = Indexer(database, backend, name=state.name)
        return await indexer.repair(ids)
    await state.collection.update_one({"_id": state.name}, {"$set": {"repair_ids": ids}})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        doc = await state.load()
        if not doc.get("repair_ids"):
            return len(ids)
    raise TimeoutError("the active indexer did not process the repair request in 60 s")


PENDING_CAP = 10_000  # status counts at most this many not-yet-indexed changes


async def _pending_events(database: Any, token: Any) -> tuple[int | None, datetime | None]:
    """Changes after the checkpoint (capped) and the time of the oldest; None if unresumable."""
    if token is None:
        return 0, None
    count, oldest = 0, None
    try:
        async with await database["customers"].watch(
            resume_after=token, max_await_time_ms=10, batch_size=1000
        ) as stream:
            while count < PENDING_CAP:
                event = await stream.try_next()
                if event is None:
                    break
                if oldest is None:
                    oldest = event["clusterTime"].as_datetime()
                count += 1
    except OperationFailure as exc:
        if is_history_lost(exc):
            return None, None
        raise
    return count, oldest


def _utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (stored BSON dates may come back naive)."""
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _plain(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 UTC strings (readable, and JSON as it is)."""
    if isinstance(value, datetime):
        return _utc(value).isoformat(timespec="milliseconds")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _age(value: Any, now: datetime) -> float | None:
    """Seconds since ``value`` (a datetime), or None."""
    if not isinstance(value, datetime):
        return None
    return round(max(0.0, (now - _utc(value)).total_seconds()), 1)


async def index_status(settings: Settings, database: Any, backend: SearchBackend) -> dict[str, Any]:
    """Everything ``customers index status`` prints: plain values (ISO times, ages in s)."""
    state = IndexerState(database, settings.elasticsearch_index)
    doc = await state.load()
    holder = active_holder(doc)
    head = await probe_head(database)
    if holder is not None:
        await wait_for_position(state, head, 2.0)
        doc = await state.load()
    position = Position.from_doc(doc.get("position"))
    now = datetime.now(UTC)
    pending, oldest = await _pending_events(database, doc.get("resume_token"))
    if doc.get("resume_token") is None:
        lag: Any = "unknown (no checkpoint)"
    elif pending is None:
        lag = "history lost: the next indexer start runs a full reindex"
    elif oldest is None:
        lag = 0.0
    else:  # age of the oldest change not yet in the index
        lag = round(max(0.0, (now - oldest).total_seconds()), 3)
    expires = doc.get("lease_expires_at")
    mongo_count = await database["customers"].count_documents({})
    try:
        index_count: Any = await backend.count()
        active = await backend.active_generation()
        generations = await backend.generations()
    except Exception as exc:  # the backend may be down: still report the rest
        index_count, active, generations = f"unavailable ({exc})", None, []
    letters = await state.recent_dead_letters(5)
    return _plain(
        {
            "index": settings.elasticsearch_index,
            "backend": repr(backend),
            "active_generation": active,
            "generations": ", ".join(generations),
            "indexer": holder or "none running",
            "lease_expires_in_s": (
                round((_utc(expires) - now).total_seconds(), 1)
                if holder and isinstance(expires, datetime)
                else None
            ),
            "checkpoint_at": doc.get("checkpoint_at"),
            "checkpoint_age_s": _age(doc.get("checkpoint_at"), now),
            "position_time": position.time if position else None,
            "lag_s": lag,
            "pending_changes": pending
            if pending is None or pending < PENDING_CAP
            else f"{pending}+",
            "caught_up_at": doc.get("caught_up_at"),
            "caught_up_age_s": _age(doc.get("caught_up_at"), now),
            "mongo_customers": mongo_count,
            "index_documents": index_count,
            "dead_letters": await state.count_dead_letters(),
            "reindex_required": doc.get("reindex_required"),
            "reindex_running": doc.get("reindex"),
            "last_reindex": doc.get("last_reindex"),
            "counters": doc.get("counters"),
            "recent_dead_letters": [
                {"customer_id": d.get("customer_id"), "reason": d.get("reason"), "at": d.get("at")}
                for d in letters
            ],
        }
    )
