"""The Elasticsearch 9 engine (``elasticsearch[async]``), used when ELASTICSEARCH_URL is set.

Generations are indices ``<prefix>_g<ns>`` behind two aliases: ``<prefix>-read`` (searches)
and ``<prefix>-write`` (the sync indexer's target, ``is_write_index``). ``activate`` moves both
in one atomic ``_aliases`` request.

Every write is an ``index`` with ``version_type=external`` and the change event's version, so
a stale write answers 409, which counts as success. A hard delete is indexed as a *tombstone
document* (``state: 2``) under the same external version rather than deleted, because ES forgets
deleted versions after ``index.gc_deletes`` (60 s) and a late stale write would then resurrect
the customer. Reads always exclude tombstones.

The exact ``q`` uses the same Python-side analysis as the embedded engine
(:mod:`indexers.analysis`): Python-lower-cased field values in a trigram field (3-3 ngram
tokenizer: one gram per position; values of the array are 100 positions apart so a phrase never
spans two fields), and keyword arrays of word-start prefixes. A word is a ``span_near`` of its
covering trigrams, ``span_gap`` clauses between them (at most ``len(word) / 3 + 1`` terms).

Bounded reads: a page deeper than ``index.max_result_window`` walks with ``search_after`` only
when the offset is inside the matches (the count comes first); fuzzy and prefix clauses expand to
at most :data:`~indexers.ranking.MAX_EXPANSIONS` terms; each search request times out after
``search_timeout`` seconds; highlights are computed in a worker thread, not on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from app.textsearch import digits_of, searched, searched_digits
from indexers.analysis import (
    TEXT_FIELDS,
    boundary_prefixes,
    date_sort_key,
    date_sort_key_desc,
    digit_prefixes,
    email_words,
    epoch_ms,
    index_words,
    phone_suffixes,
    plan_words,
    text_sort_key,
    text_sort_key_desc,
)
from indexers.backends.base import (
    ApplyResult,
    BackendError,
    BackendUnavailable,
    Delete,
    SearchBackend,
    Upsert,
)
from indexers.documents import SearchDoc
from indexers.query import Hit, ListQuery, NotServable, RankedQuery
from indexers.ranking import MAX_EXPANSIONS, Highlighter, RankedPlan, fuzzy_distance, plan_ranked

__all__ = ["MAPPINGS", "SETTINGS", "ElasticBackend", "es_document", "page_request"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

LIVE, SOFT_DELETED, TOMBSTONE = 0, 1, 2
EXACT_FIELDS = ("email", "first_name", "last_name", "company_name", "phone", "created_by")
DATE_FIELDS = ("created_at", "updated_at", "deleted_at")
SORT_TEXT_FIELDS = ("email", "first_name", "last_name", "company_name")
SORT_DATE_FIELDS = ("created_at", "updated_at")
WORD_FIELDS = {"first_name": "w_first", "last_name": "w_last", "company_name": "w_company"}
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 6
PAGE = 10_000  # index.max_result_window: deeper pages walk with search_after
PHONE_SUFFIX_DIGITS = 20  # phone_sfx holds the suffixes of the last digits only (E.164: 15)

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "analysis": {
        "tokenizer": {"trigram": {"type": "ngram", "min_gram": 3, "max_gram": 3}},
        "analyzer": {
            "trigram": {"type": "custom", "tokenizer": "trigram"},
            "edge": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "asciifolding", "edge_1_20"],
            },
        },
        "filter": {"edge_1_20": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20}},
        "normalizer": {"lc": {"type": "custom", "filter": ["lowercase", "trim"]}},
    },
}

_keyword = {"type": "keyword"}
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": _keyword,
        "state": {"type": "byte"},
        "version": {"type": "long"},
        **{name: _keyword for name in EXACT_FIELDS},
        "nulls": _keyword,
        "has_account": {"type": "boolean"},
        "groups": _keyword,
        **{name: {"type": "date", "format": "epoch_millis"} for name in DATE_FIELDS},
        **{
            f"k_{name}_{s}": _keyword
            for name in SORT_TEXT_FIELDS + SORT_DATE_FIELDS
            for s in ("a", "d")
        },
        # exact q (see module docstring)
        "g": {"type": "text", "analyzer": "trigram", "index_options": "positions", "norms": False},
        "s": _keyword,
        "gd": {"type": "text", "analyzer": "trigram", "index_options": "positions", "norms": False},
        "sd": _keyword,
        # ranked lookup: exact (normalized keyword), words (fuzzy/prefix term queries),
        # as-you-type prefix and a full-text name field
        "ex_email": {"type": "keyword", "normalizer": "lc"},
        "ex_phone": _keyword,
        "phone_sfx": _keyword,
        **{name: _keyword for name in (*WORD_FIELDS.values(), "w_email")},
        "full_name": {
            "type": "text",
            "analyzer": "standard",
            "fields": {
                "prefix": {"type": "text", "analyzer": "edge", "search_analyzer": "standard"}
            },
        },
        "full_name_sayt": {"type": "search_as_you_type", "max_shingle_size": 3},
    },
}


def es_document(doc: SearchDoc) -> dict[str, Any]:
    """Return the Elasticsearch source of a search document."""
    out: dict[str, Any] = {
        "id": doc.id,
        "state": SOFT_DELETED if doc.deleted_at is not None else LIVE,
        "version": doc.version,
        "has_account": doc.has_account,
        "groups": list(doc.group_ids),
        "nulls": [name for name in EXACT_FIELDS if getattr(doc, name) is None],
    }
    for name in EXACT_FIELDS:
        value = getattr(doc, name)
        if value is not None:
            out[name] = value
    for name in DATE_FIELDS:
        value = getattr(doc, name)
        if value is not None:
            out[name] = epoch_ms(value)
    for name in SORT_TEXT_FIELDS:
        value = getattr(doc, name)
        out[f"k_{name}_a"] = text_sort_key(value, doc.id)
        out[f"k_{name}_d"] = text_sort_key_desc(value, doc.id)
    for name in SORT_DATE_FIELDS:
        value = getattr(doc, name)
        out[f"k_{name}_a"] = date_sort_key(value, doc.id)
        out[f"k_{name}_d"] = date_sort_key_desc(value, doc.id)
    texts = [searched(v).lower() for v in (getattr(doc, n) for n in TEXT_FIELDS) if v]
    out["g"] = texts
    prefixes: set[str] = set()
    for text in texts:
        prefixes |= boundary_prefixes(text)
    out["s"] = sorted(prefixes)
    if doc.phone:
        digits = searched_digits(doc.phone)
        out["gd"] = [digits] if digits else []
        out["sd"] = sorted(digit_prefixes(searched(doc.phone)))
        if digits:
            out["ex_phone"] = digits
            out["phone_sfx"] = phone_suffixes(digits[-PHONE_SUFFIX_DIGITS:])
    if doc.email:
        out["ex_email"] = doc.email
        out["w_email"] = email_words(searched(doc.email))
    for name, field in WORD_FIELDS.items():
        value = getattr(doc, name)
        out[field] = index_words(searched(value) if value else None)
    out["full_name"] = out["full_name_sayt"] = " ".join(
        searched(v) for v in (doc.first_name, doc.last_name) if v
    )
    return out


_DOC_SOURCE = ("id", *EXACT_FIELDS, "has_account", "groups", *DATE_FIELDS, "version")
"""The ``_source`` fields :func:`_search_doc` reads back."""


def _date(ms: int | None) -> datetime | None:
    return None if ms is None else _EPOCH + timedelta(milliseconds=int(ms))


def _search_doc(source: dict[str, Any]) -> SearchDoc:
    """Rebuild a SearchDoc from an ``es_document`` source (``phone_digits`` re-derived)."""
    phone = source.get("phone")
    return SearchDoc(
        id=source["id"],
        email=source.get("email"),
        first_name=source.get("first_name"),
        last_name=source.get("last_name"),
        company_name=source.get("company_name"),
        phone=phone,
        phone_digits=digits_of(phone) or None,
        has_account=bool(source.get("has_account")),
        group_ids=tuple(source.get("groups") or ()),
        created_by=source.get("created_by"),
        created_at=_date(source.get("created_at")),  # type: ignore[arg-type]
        updated_at=_date(source.get("updated_at")),  # type: ignore[arg-type]
        deleted_at=_date(source.get("deleted_at")),
        version=int(source["version"]),
    )


def _tombstone(id: str, version: int) -> dict[str, Any]:
    return {"id": id, "state": TOMBSTONE, "version": version}


# -- query building ------------------------------------------------------------------------------
def _value(field: str, value: str | None) -> dict[str, Any]:
    return {"term": {"nulls": field}} if value is None else {"term": {field: value}}


def _phrase(field: str, grams: Sequence[tuple[int, str]]) -> dict[str, Any]:
    """The (offset, trigram) pairs at exactly those offsets: a ``span_near`` with gaps."""
    if len(grams) == 1:
        return {"term": {field: grams[0][1]}}
    clauses: list[dict[str, Any]] = []
    end = 0
    for offset, gram in grams:
        if offset > end:
            clauses.append({"span_gap": {field: offset - end}})
        clauses.append({"span_term": {field: gram}})
        end = offset + 1
    return {"span_near": {"clauses": clauses, "slop": 0, "in_order": True}}


def q_clauses(q: str | None) -> list[dict[str, Any]]:
    """Return one clause per word of ``q`` (all must match); see :mod:`indexers.analysis`."""
    clauses = []
    for plan in plan_words(q):
        options: list[dict[str, Any]] = []
        if plan.text_trigrams:
            options.append(_phrase("g", plan.text_trigrams))
        if plan.text_prefix is not None:
            options.append({"term": {"s": plan.text_prefix}})
        if plan.digit_trigrams:
            options.append(_phrase("gd", plan.digit_trigrams))
        if plan.digit_prefix is not None:
            options.append({"term": {"sd": plan.digit_prefix}})
        clauses.append({"bool": {"should": options, "minimum_should_match": 1}})
    return clauses


def filter_query(query: ListQuery) -> dict[str, Any] | None:
    """Return the bool query of a list query's filters (None: it matches nothing)."""
    states = [LIVE, SOFT_DELETED] if query.with_deleted else [LIVE]
    must: list[dict[str, Any]] = [{"terms": {"state": states}}]
    must_not: list[dict[str, Any]] = []
    for term in query.terms:
        field = term.field
        if field not in EXACT_FIELDS and field != "id":
            raise NotServable(f"no exact filter on {field!r}")
        if term.in_ is not None:
            if not term.in_:
                return None
            must.append(
                {
                    "bool": {
                        "should": [_value(field, v) for v in term.in_],
                        "minimum_should_match": 1,
                    }
                }
            )
        must_not.extend(_value(field, v) for v in term.nin)
    for rng in query.ranges:
        if rng.field not in DATE_FIELDS:
            raise NotServable(f"no range filter on {rng.field!r}")
        bounds = {
            op: epoch_ms(getattr(rng, op))
            for op in ("gt", "gte", "lt", "lte")
            if getattr(rng, op) is not None
        }
        if bounds:
            must.append({"range": {rng.field: bounds}})
    if query.has_account is not None:
        must.append({"term": {"has_account": query.has_account}})
    if query.group_ids is not None:
        if not query.group_ids:
            return None
        must.append({"terms": {"groups": sorted(query.group_ids)}})
    must.extend(q_clauses(query.q))
    return {"bool": {"filter": must, "must_not": must_not}}


def sort_plan(order: Sequence[tuple[str, str]]) -> tuple[str, str, str]:
    """Return (keyword field, "asc"|"desc", key kind) for Medusa's order + id tie-breaker."""
    keys = [(f, d.upper()) for f, d in order] or [("id", "ASC")]
    field, direction = keys[0]
    tie = keys[1][1] if len(keys) > 1 else "ASC"
    if len(keys) > 2 or (len(keys) == 2 and keys[1][0] != "id"):
        raise NotServable(f"order {order!r}")
    if direction not in ("ASC", "DESC") or tie not in ("ASC", "DESC"):
        raise NotServable(f"order {order!r}")
    if field == "id":
        if len(keys) > 1:
            raise NotServable(f"order {order!r}")
        return "id", direction.lower(), "id"
    if field in SORT_DATE_FIELDS:
        kind = "date"
    elif field in SORT_TEXT_FIELDS:
        kind = "text"
    else:
        raise NotServable(f"order by {field!r}")
    if direction == "ASC":
        name, asc = (f"k_{field}_a", True) if tie == "ASC" else (f"k_{field}_d", False)
    else:
        name, asc = (f"k_{field}_d", True) if tie == "ASC" else (f"k_{field}_a", False)
    return name, "asc" if asc else "desc", f"{kind}_{name[-1]}"


def _const(query: dict[str, Any], score: float) -> dict[str, Any]:
    return {"constant_score": {"filter": query, "boost": score}}


def _any(queries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _fuzzy(field: str, word: str, distance: int) -> dict[str, Any]:
    return {
        "fuzzy": {
            field: {
                "value": word,
                "fuzziness": distance,
                "transpositions": True,
                "max_expansions": MAX_EXPANSIONS,
            }
        }
    }


def page_request(skip: int, take: int | None) -> tuple[int, int] | None:
    """``(from, size)`` of a page one request can fetch (within ``max_result_window``), or
    None: count first, then walk with ``search_after`` if the offset is inside the matches."""
    if take is not None and skip + take <= PAGE:
        return skip, take
    return None


def ranked_query(plan: RankedPlan) -> dict[str, Any]:
    """Build the tiered ranked query (same tiers and scores as the embedded engine)."""
    fields = ("w_first", "w_last", "w_company", "w_email")
    tiers: list[dict[str, Any]] = []
    if plan.email:
        tiers.append(_const({"term": {"ex_email": plan.email}}, 1000.0))
    if plan.phone_digits:
        tiers.append(_const({"term": {"ex_phone": plan.phone_digits}}, 1000.0))
        if len(plan.phone_digits) >= 4:
            tiers.append(_const({"term": {"phone_sfx": plan.phone_digits}}, 500.0))

    def name_word(field: str, word: str, exact: bool) -> dict[str, Any]:
        distance = fuzzy_distance(word)
        if exact or not distance:
            return {"term": {field: word}}
        return _fuzzy(field, word, distance)

    if len(plan.words) >= 2:
        pairs = [(plan.words[0], plan.words[-1]), (plan.words[-1], plan.words[0])]
        for exact, score in ((True, 200.0), (False, 100.0)):
            tiers.append(
                _const(
                    _any(
                        [
                            {
                                "bool": {
                                    "filter": [
                                        name_word("w_first", a, exact),
                                        name_word("w_last", b, exact),
                                    ]
                                }
                            }
                            for a, b in pairs
                        ]
                    ),
                    score,
                )
            )
    per_word = []
    for index, word in enumerate(plan.words):
        is_last = index == len(plan.words) - 1
        options = [_const(_any([{"term": {f: word}} for f in fields]), 30.0)]
        if is_last and plan.prefix_last:
            prefix = {"value": word, "rewrite": f"top_terms_{MAX_EXPANSIONS}"}
            sayt = {"query": word, "max_expansions": MAX_EXPANSIONS}
            options.append(
                _const(
                    _any(
                        [{"prefix": {f: prefix}} for f in fields]
                        + [{"match_phrase_prefix": {"full_name_sayt": sayt}}]
                    ),
                    10.0,
                )
            )
        distance = fuzzy_distance(word)
        if distance:  # names and company only: email words match exactly or as a prefix
            fuzzy = [_fuzzy(f, word, distance) for f in ("w_first", "w_last", "w_company")]
            options.append(_const(_any(fuzzy), 3.0))
        substring = q_clauses(plan.raw_words[index])
        if substring:
            options.append(_const(substring[0], 1.0))
        if plan.word_digits[index]:
            options.append(_const({"term": {"phone_sfx": plan.word_digits[index]}}, 50.0))
        per_word.append({"dis_max": {"queries": options}})
    if per_word:
        tiers.append({"bool": {"must": per_word}})
    return {"bool": {"should": tiers, "minimum_should_match": 1}}


def _hits(plan: RankedPlan, found: list[dict[str, Any]]) -> list[Hit]:
    """The ranked hits of a search response, best first, with their highlights."""
    highlight = Highlighter(plan)
    hits = []
    for hit in found:
        source = hit["_source"]
        record = {name: source.get(name) for name in TEXT_FIELDS}
        hits.append(
            Hit(
                id=hit["_id"],
                score=round(float(hit["_score"] or 0.0), 4),
                highlights=highlight(record),
            )
        )
    hits.sort(key=lambda h: (-h.score, h.id))
    return hits


# -- the backend ------------------------------------------------------------------------------
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
        self.read_alias = f"{self.prefix}-read"
        self.write_alias = f"{self.prefix}-write"
        self._pinned = _pinned
        self._owner = _owner
        self.search_timeout = search_timeout
        # The live writer refreshes after each bulk so a read after wait_until_applied sees it
        # (read-your-writes); reindex writers (writer_for) skip it and refresh once at the end.
        self._refresh = refresh_on_apply and _pinned is None
        self._first_lock = asyncio.Lock()

    def __repr__(self) -> str:
        target = f" generation={self._pinned}" if self._pinned else ""
        return f"<ElasticBackend prefix={self.prefix}{target}>"

    # -- plumbing --
    async def _call(self, fn: Callable[[], Awaitable[T]], *, what: str) -> T:
        """Run one request, retrying 429/5xx/connection errors with jittered backoff."""
        from elasticsearch import ApiError, NotFoundError, TransportError

        for attempt in range(MAX_ATTEMPTS):
            try:
                return await fn()
            except NotFoundError:
                raise  # callers decide: no index yet, nothing to delete, ...
            except ApiError as exc:
                if exc.meta.status not in RETRY_STATUS:
                    # e.g. a 400 for the whole request: retrying cannot help
                    raise BackendError(f"elasticsearch {what}: {exc}") from exc
                error: Exception = exc
            except TransportError as exc:  # connection refused, timeout
                error = exc
            if attempt < MAX_ATTEMPTS - 1:
                await asyncio.sleep(random.uniform(0, min(5.0, 0.1 * 2**attempt)))
        raise BackendUnavailable(f"elasticsearch {what}: {error}") from error

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

    async def _search(self, **kwargs: Any) -> dict[str, Any]:
        from elasticsearch import NotFoundError

        try:
            client = self.client.options(request_timeout=self.search_timeout)
            response = await self._call(
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
        pending = list(ops)
        for attempt in range(MAX_ATTEMPTS):
            operations: list[dict[str, Any]] = []
            for op in pending:
                source = (
                    es_document(op.doc) if isinstance(op, Upsert) else _tombstone(op.id, op.version)
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
            response = await self._call(
                lambda ops_=operations: self.client.bulk(
                    operations=ops_, refresh=True if self._refresh else None
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

        try:
            await self._call(
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
                body = await self._search(query=query, size=len(chunk), source=list(_DOC_SOURCE))
                for hit in body["hits"]["hits"]:
                    out[hit["_id"]] = _search_doc(hit["_source"])
        except NotServable:
            return {}
        return out

    async def release_writer(self) -> None:
        """Nothing to release: Elasticsearch has no exclusive writer lock."""

    async def count(self) -> int:
        from elasticsearch import NotFoundError

        query = {"terms": {"state": [LIVE, SOFT_DELETED]}}
        try:
            response = await self._call(
                lambda: self.client.count(index=self._read_target(), query=query), what="count"
            )
        except NotFoundError:
            return 0
        return int(response.body["count"])

    # -- reads --
    async def list_ids(self, query: ListQuery) -> tuple[list[str], int]:
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
                source=False,
                track_total_hits=True,
            )
            return [hit["_id"] for hit in body["hits"]["hits"]], body["hits"]["total"]["value"]
        # deep or unbounded page: count, then walk the unique sort keys with search_after,
        # only when the page starts inside the matches
        counted = await self._search(query=es_query, size=0, track_total_hits=True)
        total = counted["hits"]["total"]["value"]
        if query.skip >= total or take == 0:
            return [], total
        ids: list[str] = []
        after: list[Any] | None = None
        position = 0
        while True:
            body = await self._search(
                query=es_query,
                sort=sort,
                size=PAGE,
                source=False,
                search_after=after,
                track_total_hits=False,
            )
            hits = body["hits"]["hits"]
            for hit in hits:
                if position >= query.skip and (take is None or len(ids) < take):
                    ids.append(hit["_id"])
                position += 1
            done = len(hits) < PAGE or (take is not None and len(ids) >= take)
            if done:
                return ids, total
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
        hits = await asyncio.to_thread(_hits, plan, body["hits"]["hits"])
        return hits[: query.limit], body["hits"]["total"]["value"]

    # -- generations --
    async def create_generation(self) -> str:
        name = f"{self.prefix}_g{time.time_ns():020d}"
        await self._call(
            lambda: self.client.indices.create(index=name, settings=SETTINGS, mappings=MAPPINGS),
            what="create index",
        )
        return name

    def writer_for(self, generation: str) -> ElasticBackend:
        return ElasticBackend(
            prefix=self.prefix, client=self.client, _pinned=generation, _owner=False
        )

    async def _aliased(self, alias: str) -> list[str]:
        from elasticsearch import NotFoundError

        try:
            response = await self._call(
                lambda: self.client.indices.get_alias(name=alias), what="get alias"
            )
        except NotFoundError:
            return []
        return sorted(response.body)

    async def activate(self, generation: str) -> None:
        actions: list[dict[str, Any]] = []
        for alias in (self.read_alias, self.write_alias):
            for index in await self._aliased(alias):
                if index != generation:
                    actions.append({"remove": {"index": index, "alias": alias}})
        actions.append({"add": {"index": generation, "alias": self.read_alias}})
        actions.append(
            {"add": {"index": generation, "alias": self.write_alias, "is_write_index": True}}
        )
        await self._call(
            lambda: self.client.indices.update_aliases(actions=actions), what="alias swap"
        )

    async def drop_generation(self, generation: str) -> None:
        from elasticsearch import NotFoundError

        if generation in await self._aliased(self.read_alias):
            raise BackendError(f"cannot drop the active generation {generation!r}")
        try:
            await self._call(
                lambda: self.client.indices.delete(index=generation), what="delete index"
            )
        except NotFoundError:
            return

    async def generations(self) -> list[str]:
        from elasticsearch import NotFoundError

        try:
            response = await self._call(
                lambda: self.client.indices.get(index=f"{self.prefix}_g*", allow_no_indices=True),
                what="list indices",
            )
        except NotFoundError:
            return []
        return sorted(response.body)

    async def active_generation(self) -> str | None:
        names = await self._aliased(self.read_alias)
        return names[0] if names else None

    async def close(self) -> None:
        if self._owner:
            await self.client.close()
