"""The Elasticsearch engine's backend (``elasticsearch[async]``), used when ELASTICSEARCH_URL
is set.

Bounded reads: each search request times out after ``search_timeout`` seconds; highlights are
computed in a worker thread, not on the event loop.

An index created with another fingerprint (its mapping's ``_meta``) raises
:class:`~indexers.backends.base.IncompatibleIndex` on reads and writes, as the embedded engine
does, so the sync indexer rebuilds it and readers fall back to MongoDB meanwhile. The index
behind an alias is looked at again every :data:`SCHEMA_CHECK_INTERVAL` seconds (a reindex in
another process may move the alias); a pinned generation once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from indexers.backends.base import (
    ApplyResult,
    BackendUnavailable,
    Delete,
    IncompatibleIndex,
    Listed,
    SearchBackend,
    Upsert,
)
from indexers.backends.elastic.generations import Generations
from indexers.backends.elastic.mapping import (
    ACCEPTED,
    DOC_SOURCE,
    FINGERPRINT,
    LEGACY_FINGERPRINT,
    es_document,
    listed_of,
    search_doc,
    tombstone,
)
from indexers.backends.elastic.queries import PAGE, filter_query, page_request, sort_plan
from indexers.backends.elastic.ranked import ranked_hits, ranked_query
from indexers.backends.elastic.retry import MAX_ATTEMPTS, RETRY_STATUS, call
from indexers.backends.plan import LIVE, SOFT_DELETED
from indexers.documents import TEXT_FIELDS, SearchDoc
from indexers.query import Hit, ListQuery, NotServable, RankedQuery
from indexers.ranking import plan_ranked

__all__ = ["SCHEMA_CHECK_INTERVAL", "ElasticBackend"]

SCHEMA_CHECK_INTERVAL = 5.0
"""Seconds the index behind an alias stays trusted after its fingerprint was checked."""


class ElasticBackend(SearchBackend):
    """Elasticsearch generations behind a read and a write alias.

    :param url: the cluster URL (ELASTICSEARCH_URL).
    :param prefix: alias/index name prefix (ELASTICSEARCH_INDEX, default "customers").
    :param client: an existing ``AsyncElasticsearch`` (tests); made from ``url`` otherwise.
    :param search_timeout: seconds one search request may take (``CUSTOMERS_SEARCH_BUDGET``).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        prefix: str = "customers",
        client: Any | None = None,
        refresh_on_apply: bool = True,
        search_timeout: float = 30.0,
        _pinned: str | None = None,
        _owner: bool = True,
    ) -> None:
        if client is None:
            from elasticsearch import AsyncElasticsearch

            client = AsyncElasticsearch(url, request_timeout=30, max_retries=0)
        self.client = client
        self.prefix = prefix.lower()
        self._generations = Generations(client, self.prefix)
        self.read_alias = self._generations.read_alias
        self.write_alias = self._generations.write_alias
        self._pinned = _pinned
        self._owner = _owner
        self.search_timeout = search_timeout
        # The live writer refreshes after each bulk so a read after wait_until_applied sees it
        # (read-your-writes); reindex writers (writer_for) skip it and refresh once at the end.
        self._refresh = refresh_on_apply and _pinned is None
        self._first_lock = asyncio.Lock()
        self._checked: dict[str, float] = {}  # target → when it was last found compatible

    def __repr__(self) -> str:
        target = f" generation={self._pinned}" if self._pinned else ""
        return f"<ElasticBackend prefix={self.prefix}{target}>"

    def _read_target(self) -> str:
        return self._pinned or self.read_alias

    async def _write_target(self) -> str:
        if self._pinned:
            return self._pinned
        if await self.active_generation() is None:
            async with self._first_lock:
                if await self.active_generation() is None:
                    await self.activate(await self.create_generation())
        return self.write_alias

    async def _check(self, target: str) -> None:
        """Raise :class:`IncompatibleIndex` when an index behind ``target`` was created with
        another fingerprint (no index yet: nothing to check)."""
        from elasticsearch import NotFoundError

        checked = self._checked.get(target)
        now = time.monotonic()
        if checked is not None and (self._pinned or now - checked < SCHEMA_CHECK_INTERVAL):
            return
        try:
            recorded = await self._generations.fingerprints(target)
        except NotFoundError:
            return
        for name, fingerprint in recorded.items():
            if (fingerprint or LEGACY_FINGERPRINT) not in ACCEPTED:
                raise IncompatibleIndex(
                    f"elasticsearch index {name} was built with schema "
                    f"{fingerprint or LEGACY_FINGERPRINT}, this is {FINGERPRINT}: reindex"
                )
        self._checked[target] = now

    async def _search(self, **kwargs: Any) -> dict[str, Any]:
        from elasticsearch import NotFoundError

        await self._check(self._read_target())
        try:
            client = self.client.options(request_timeout=self.search_timeout)
            response = await call(
                lambda: client.search(index=self._read_target(), **kwargs), what="search"
            )
        except NotFoundError as exc:
            raise NotServable(f"no search index yet: {exc}") from exc
        return response.body

    # -- writes --
    async def apply(self, ops: Sequence[Upsert | Delete]) -> ApplyResult:
        result = ApplyResult()
        if not ops:
            return result
        target = await self._write_target()
        await self._check(target)
        pending = list(ops)
        for attempt in range(MAX_ATTEMPTS):
            operations: list[dict[str, Any]] = []
            for op in pending:
                source = (
                    es_document(op.doc) if isinstance(op, Upsert) else tombstone(op.id, op.version)
                )
                operations.append(
                    {
                        "index": {
                            "_index": target,
                            "_id": op.id,
                            "version": op.version,
                            "version_type": "external",
                        }
                    }
                )
                operations.append(source)
            response = await call(
                partial(
                    self.client.bulk,
                    operations=operations,
                    refresh=True if self._refresh else None,
                ),
                what="bulk",
            )
            retry: list[Upsert | Delete] = []
            for op, item in zip(pending, response.body["items"], strict=True):
                outcome = item.get("index", {})
                status = outcome.get("status", 500)
                if status < 300 or status == 409:  # 409: an equal or newer version is stored
                    continue
                if status in RETRY_STATUS:
                    retry.append(op)
                else:
                    reason = outcome.get("error", {})
                    result.rejected.append(
                        (op.id, f"{status} {reason.get('type', '')}: {reason.get('reason', '')}")
                    )
            if not retry:
                return result
            pending = retry
            await asyncio.sleep(random.uniform(0, min(5.0, 0.1 * 2**attempt)))
        raise BackendUnavailable(
            f"elasticsearch bulk: {len(pending)} items still rejected (429/5xx)"
        )

    async def refresh(self) -> None:
        from elasticsearch import NotFoundError

        await self._check(self._read_target())
        try:
            await call(
                lambda: self.client.indices.refresh(index=self._read_target()), what="refresh"
            )
        except NotFoundError:
            return

    # -- inspection --
    async def versions(self, ids: Sequence[str] | None = None) -> dict[str, int]:
        live = {"bool": {"filter": [{"terms": {"state": [LIVE, SOFT_DELETED]}}]}}
        out: dict[str, int] = {}
        try:
            if ids is not None:
                ids = list(ids)
                for start in range(0, len(ids), PAGE):
                    chunk = ids[start : start + PAGE]
                    query = {
                        "bool": {"filter": [*live["bool"]["filter"], {"ids": {"values": chunk}}]}
                    }
                    body = await self._search(query=query, size=len(chunk), source=["version"])
                    for hit in body["hits"]["hits"]:
                        out[hit["_id"]] = int(hit["_source"]["version"])
                return out
            after: list[Any] | None = None
            while True:
                body = await self._search(
                    query=live,
                    size=PAGE,
                    source=["version"],
                    sort=[{"id": "asc"}],
                    search_after=after,
                )
                hits = body["hits"]["hits"]
                for hit in hits:
                    out[hit["_id"]] = int(hit["_source"]["version"])
                if len(hits) < PAGE:
                    return out
                after = hits[-1]["sort"]
        except NotServable:
            return out

    async def documents(self, ids: Sequence[str]) -> dict[str, SearchDoc]:
        live = {"terms": {"state": [LIVE, SOFT_DELETED]}}
        ids = list(ids)
        out: dict[str, SearchDoc] = {}
        try:
            for start in range(0, len(ids), PAGE):
                chunk = ids[start : start + PAGE]
                query = {"bool": {"filter": [live, {"ids": {"values": chunk}}]}}
                body = await self._search(query=query, size=len(chunk), source=list(DOC_SOURCE))
                for hit in body["hits"]["hits"]:
                    out[hit["_id"]] = search_doc(hit["_source"])
        except NotServable:
            return {}
        return out

    async def release_writer(self) -> None:
        """Nothing to release: Elasticsearch has no exclusive writer lock."""

    async def count(self) -> int:
        from elasticsearch import NotFoundError

        query = {"terms": {"state": [LIVE, SOFT_DELETED]}}
        await self._check(self._read_target())
        try:
            response = await call(
                lambda: self.client.count(index=self._read_target(), query=query), what="count"
            )
        except NotFoundError:
            return 0
        return int(response.body["count"])

    # -- reads --
    async def list_ids(self, query: ListQuery) -> tuple[list[str], int]:
        hits, total = await self._list(query, source=False)
        return [hit["_id"] for hit in hits], total

    async def list_documents(self, query: ListQuery) -> tuple[list[Listed], int]:
        hits, total = await self._list(query, source=["listed"])
        return [Listed(hit["_id"], listed_of(hit.get("_source", {}))) for hit in hits], total

    async def _list(self, query: ListQuery, *, source: Any) -> tuple[list[Any], int]:
        """The hits of one page (``source``: the ``_source`` fields each carries), and the
        total count."""
        field, direction, _ = sort_plan(query.order)
        es_query = filter_query(query)
        if es_query is None:
            return [], 0
        sort = [{field: direction}]
        take = query.take
        one = page_request(query.skip, take)
        if one is not None:
            body = await self._search(
                query=es_query,
                sort=sort,
                from_=one[0],
                size=one[1],
                source=source,
                track_total_hits=True,
            )
            return body["hits"]["hits"], body["hits"]["total"]["value"]
        # deep or unbounded page: count, then walk the unique sort keys with search_after,
        # only when the page starts inside the matches
        counted = await self._search(query=es_query, size=0, track_total_hits=True)
        total = counted["hits"]["total"]["value"]
        if query.skip >= total or take == 0:
            return [], total
        page: list[Any] = []
        after: list[Any] | None = None
        position = 0
        while True:
            body = await self._search(
                query=es_query,
                sort=sort,
                size=PAGE,
                source=source,
                search_after=after,
                track_total_hits=False,
            )
            hits = body["hits"]["hits"]
            for hit in hits:
                if position >= query.skip and (take is None or len(page) < take):
                    page.append(hit)
                position += 1
            done = len(hits) < PAGE or (take is not None and len(page) >= take)
            if done:
                return page, total
            after = hits[-1]["sort"]

    async def search(self, query: RankedQuery) -> tuple[list[Hit], int]:
        plan = plan_ranked(query.q)
        if plan is None:
            return [], 0
        base = filter_query(query.filters)
        if base is None:
            return [], 0
        es_query = {
            "bool": {
                "filter": base["bool"]["filter"],
                "must_not": base["bool"]["must_not"],
                "must": [ranked_query(plan)],
            }
        }
        body = await self._search(
            query=es_query,
            size=max(query.limit, 1),
            source=[*list(TEXT_FIELDS), "id"],
            track_total_hits=True,
        )
        # highlights are Python work: keep it off the event loop
        hits = await asyncio.to_thread(ranked_hits, plan, body["hits"]["hits"])
        return hits[: query.limit], body["hits"]["total"]["value"]

    # -- generations --
    async def create_generation(self) -> str:
        return await self._generations.create()

    def writer_for(self, generation: str) -> ElasticBackend:
        return ElasticBackend(
            prefix=self.prefix, client=self.client, _pinned=generation, _owner=False
        )

    async def activate(self, generation: str) -> None:
        await self._generations.activate(generation)

    async def drop_generation(self, generation: str) -> None:
        await self._generations.drop(generation)

    async def generations(self) -> list[str]:
        return await self._generations.names()

    async def active_generation(self) -> str | None:
        return await self._generations.active()

    async def close(self) -> None:
        if self._owner:
            await self.client.close()
