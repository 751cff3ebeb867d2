"""Readiness checks of the search side, for ``GET /health/ready`` (:mod:`app.readiness`).

- ``index``: the service has the search index attached (its reader) and the backend answers
  with an active generation (not before the first build finished);
- ``indexer``: some indexer holds the lease (this process's, or a separate ``customers
  index``: the state document) and its lag is at most :data:`READY_MAX_LAG_S`. The lag is 0
  when the indexer has applied every write committed before the check (the read-your-writes
  probe, on the API's client, then :meth:`indexers.sync.Indexer.wait_in_memory`); otherwise it
  is estimated from the cluster time of the last applied change.

A lagging index does not make answers wrong (reads fall back to MongoDB after 1 s), so the
lag threshold is generous: it flags an indexer that is stuck, not one that is busy.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from indexers.backends.base import BackendError
from indexers.freshness import probe_head, wait_for_head
from indexers.lease import active_holder
from indexers.state import IndexerState, Position
from indexers.sync import Indexer

__all__ = ["READY_MAX_LAG_S", "index_check", "indexer_check"]

READY_MAX_LAG_S = 60.0  # an indexer further behind than this makes the process not ready
FRESH_WAIT_S = 0.5  # how long a check waits for the indexer to cover the current writes

Check = Callable[[], Awaitable[dict[str, Any]]]


def index_check(service: Any) -> Check:
    """Ready when ``service`` has a reader attached whose backend answers."""

    async def check() -> dict[str, Any]:
        reader = service.index
        if reader is None:
            return {"ok": False, "error": "the search index is not attached"}
        try:
            generation = await reader.backend.active_generation()
            if generation is None:
                return {"ok": False, "error": "no active index generation yet (first build)"}
            documents = await reader.backend.count()
        except BackendError as exc:
            return {
                "ok": False,
                "error": f"the search backend does not answer ({type(exc).__name__})",
            }
        return {"ok": True, "generation": generation, "documents": documents}

    return check


def indexer_check(database: Any, *, name: str, indexer: Indexer | None) -> Check:
    """Ready when an indexer holds the lease and lags at most :data:`READY_MAX_LAG_S`."""
    state = IndexerState(database, name)

    async def check() -> dict[str, Any]:
        if indexer is not None and indexer.active:
            where = "this process"
        else:
            holder = active_holder(await state.load())
            if holder is None:
                return {
                    "ok": False,
                    "error": "no indexer holds the lease: run `customers index` "
                    "(or `serve` with CUSTOMERS_INDEXER=on)",
                }
            where = holder
        if await _fresh(database, state, indexer):
            lag: float | None = 0.0
        elif indexer is not None and indexer.active:
            lag = indexer.lag_seconds()
        else:
            saved = Position.from_doc((await state.load()).get("position"))
            lag = None if saved is None else max(0.0, time.time() - saved.ts.time)
        if lag is None:
            return {"ok": False, "where": where, "error": "the indexer has applied nothing yet"}
        result: dict[str, Any] = {
            "ok": lag <= READY_MAX_LAG_S,
            "where": where,
            "lag_s": round(lag, 3),
        }
        if not result["ok"]:
            result["error"] = f"the indexer is more than {READY_MAX_LAG_S:g} s behind"
        return result

    return check


async def _fresh(database: Any, state: IndexerState, indexer: Indexer | None) -> bool:
    """Whether the index covers every write committed before this call (waits briefly)."""
    head = await probe_head(database)  # the API's client: the check fails fast too
    return await wait_for_head(head, state, indexer, FRESH_WAIT_S)
