"""Reading MongoDB's customers into index documents: the reindex copy, and a repair's re-read.

The change stream only brings changes; these bring the current state, each document at a
version that any later change event outranks:

- :func:`copy_collection` bulk-loads every customer into a *fresh* generation in ``_id``
  order, each page at version ``cluster time before the read - COPY_VERSION_MARGIN_S``.

  Speed (100,000 customers, SecantusDB, a 2-core machine, ``customers reindex`` end to end):
  4,800 docs/s before the bulk path, ~6,900 after. CPU per document: SecantusDB serves a
  document in ~39 µs, decoding + mapping + building the tantivy document take ~90 µs of
  Python, tantivy's indexing threads ~70 µs; 2 cores cannot go much faster than ~10,000/s.
  The copy is GIL-bound, so decoding moved into the one worker thread that builds (raw BSON
  pages); a process pool does not pay (pickling a tantivy document costs as much as building
  it). Each stage alone (``scripts/bench_reindex_stages.py``, 1,000,000 customers, load ~5):
  the server's bare read 25,000 docs/s, mapping ~26 µs and the tantivy document ~117 µs of
  Python (one GIL: ~7,000/s), tantivy's one indexing thread ~5,900 docs/s (~130 µs CPU). The
  server is not the limit; our Python and tantivy's indexing each are, and together with the
  server they need ~300 µs of CPU a document: more than 2 cores give for 12,000/s. tantivy's
  own tokenizers cannot take the analysis over exactly (see :mod:`indexers.analysis`).
- :func:`repair` re-reads some ids (``customers index verify --repair``) at version
  "cluster time before the read" (:func:`current_ops`: a Delete for each id gone from
  MongoDB) and writes them through the sync loop's writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import bson
from bson.raw_bson import RawBSONDocument
from bson.timestamp import Timestamp
from pymongo.asynchronous.collection import AsyncCollection

from indexers.apply import IndexWriter
from indexers.backends.base import BackendUnavailable, Delete, SearchBackend, Upsert
from indexers.documents import DOC_FIELDS, SearchDoc, to_search_doc, version_from_timestamp
from indexers.erased import Tombstones

__all__ = ["COPY_VERSION_MARGIN_S", "copy_collection", "copy_version", "current_ops", "repair"]

log = logging.getLogger("customers.indexer.reindex")
sync_log = logging.getLogger("customers.indexer")

COPY_VERSION_MARGIN_S = 5
"""Copied documents get the cluster time before their read minus this many seconds."""

Progress = Callable[[int, int], None]
Rejected = Callable[[str, int, str], Awaitable[None]]


async def copy_version(collection: AsyncCollection[Any]) -> int:
    """Version for documents read after this call: server cluster time - the margin."""
    reply = await collection.database.command("ping")
    ts: Timestamp = reply.get("operationTime") or Timestamp(int(time.time()), 0)
    return max(ts.time - COPY_VERSION_MARGIN_S, 0) << 32


async def copy_collection(
    collection: AsyncCollection[Any],
    target: SearchBackend,
    *,
    batch_size: int = 2000,
    progress: Progress | None = None,
    total: int = 0,
    on_rejected: Rejected | None = None,
    projection: Mapping[str, Any] | None = None,
) -> int:
    """Bulk-load every customer into the fresh generation ``target`` in ``_id`` order.

    One cursor over the ``_id`` index (SecantusDB plans ``_id > x`` pages as a collection scan
    each, so range paging is quadratic; it is only the fallback when the cursor dies). Reading
    the next page overlaps with loading the current one (a queue of two pages). Each id is read
    once, as :meth:`SearchBackend.bulk_load` requires. ``projection`` (the indexed fields) pays
    on MongoDB; SecantusDB evaluates it in Python, which costs more than it saves.
    """
    pages: asyncio.Queue[tuple[int, list[Mapping[str, Any]]] | None] = asyncio.Queue(maxsize=2)
    reader = asyncio.create_task(
        _read_pages(collection, pages, batch_size, projection), name="reindex-copy-reader"
    )
    copied = 0
    tombstones = Tombstones(collection.database)
    try:
        while (item := await pages.get()) is not None:
            version, page = item
            docs, bad = await asyncio.to_thread(_search_docs, page, version)
            docs = await tombstones.drop_erased(docs)  # e.g. restored from a backup
            bad += await _load_retrying(target, docs)
            if on_rejected is not None:
                for customer_id, reason in bad:
                    await on_rejected(customer_id, version, reason)
            copied += len(page)
            if progress is not None:
                progress(copied, max(total, copied))
        await reader
    finally:
        if not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
    return copied


async def _read_pages(
    collection: AsyncCollection[Any],
    pages: asyncio.Queue[tuple[int, list[Mapping[str, Any]]] | None],
    batch_size: int,
    projection: Mapping[str, Any] | None,
) -> None:
    """Put (version, page) items on ``pages`` in ``_id`` order, then None.

    Pages hold undecoded ``RawBSONDocument``s: they are decoded in the worker thread that
    builds the index documents (:func:`_search_docs`), so the event loop stays free and the
    GIL-bound work of the copy runs in one thread (two busy threads convoy on the GIL).
    """
    from pymongo.errors import CursorNotFound, OperationFailure

    raw = collection.with_options(
        codec_options=collection.codec_options.with_options(document_class=RawBSONDocument)
    )
    last_id: Any = None
    while True:
        query = {} if last_id is None else {"_id": {"$gt": last_id}}
        cursor = (
            raw.find(query, projection, batch_size=batch_size).sort("_id", 1).hint([("_id", 1)])
        )
        try:
            while True:
                version = await copy_version(collection)  # before the read it stamps
                page = await cursor.to_list(batch_size)
                if not page:
                    await pages.put(None)
                    return
                last_id = page[-1]["_id"]
                await pages.put((version, page))
        except (CursorNotFound, OperationFailure) as exc:
            # only a lost cursor (43 CursorNotFound, 175 QueryPlanKilled) is resumed
            if not isinstance(exc, CursorNotFound) and exc.code not in (43, 175):
                raise
            log.warning("reindex copy cursor lost (%s); resuming after %r", exc, last_id)
        finally:
            await cursor.close()


def _search_docs(
    page: Sequence[Mapping[str, Any]], version: int
) -> tuple[list[SearchDoc], list[tuple[str, str]]]:
    """Map one page to search documents (run off the event loop), with the ones that fail.

    A ``RawBSONDocument`` is decoded whole first, in one C call: reading its fields one by one
    through its ``get`` cost more than the rest of the mapping (33 vs 13.5 µs a customer).
    """
    docs: list[SearchDoc] = []
    bad: list[tuple[str, str]] = []
    for raw in page:
        try:
            fields = bson.decode(raw.raw) if isinstance(raw, RawBSONDocument) else raw
            docs.append(to_search_doc(fields, version))
        except (ValueError, TypeError, KeyError) as exc:
            bad.append((str(raw.get("_id")), f"{type(exc).__name__}: {exc}"))
    return docs, bad


async def _load_retrying(target: SearchBackend, docs: list[SearchDoc]) -> list[tuple[str, str]]:
    """Bulk-load ``docs``; retry only :class:`BackendUnavailable` (nothing of the batch kept).

    Any other backend error means the generation lost documents: it propagates, the reindex
    fails, and the indexer retries it with a new generation.
    """
    delay = 0.1
    while True:
        try:
            return list((await target.bulk_load(docs)).rejected)
        except BackendUnavailable as exc:
            log.warning("reindex copy: backend unavailable (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def current_ops(
    collection: AsyncCollection[Any], ids: Sequence[str]
) -> tuple[list[Upsert | Delete], list[tuple[str, int, str]]]:
    """Index operations that make ``ids`` what MongoDB holds now, and the unmappable ones
    (customer id, version, reason): a Delete for each id MongoDB no longer has."""
    # Version: the cluster time before the read, so every later event still wins.
    reply = await collection.database.command("ping")
    version = version_from_timestamp(reply["operationTime"])
    projection = dict.fromkeys(DOC_FIELDS, 1)
    docs = {d["_id"]: d async for d in collection.find({"_id": {"$in": list(ids)}}, projection)}
    ops: list[Upsert | Delete] = []
    bad: list[tuple[str, int, str]] = []
    for customer_id in ids:
        raw = docs.get(customer_id)
        if raw is None:
            ops.append(Delete(customer_id, version))
            continue
        try:
            ops.append(Upsert(to_search_doc(raw, version)))
        except (ValueError, TypeError, KeyError) as exc:
            bad.append((customer_id, version, f"{type(exc).__name__}: {exc}"))
    return ops, bad


async def repair(
    collection: AsyncCollection[Any], writer: IndexWriter, ids: list[str], stop: asyncio.Event
) -> int:
    """Re-index ``ids`` from MongoDB now (Delete those gone); return how many were sent."""
    if not ids:
        return 0
    ops, bad = await current_ops(collection, ids)
    for customer_id, version, reason in bad:
        await writer.dead_letter(customer_id, version, reason)
    await writer.apply(ops, stop)
    sync_log.warning("repaired %d customers in the search index", len(ops))
    return len(ops)
