"""Elasticsearch queries of a list: the filters, the exact ``q``, the sort and the page.

A word of ``q`` is a ``span_near`` of its covering trigrams, ``span_gap`` clauses between them
(at most ``len(word) / 3 + 1`` terms). A page deeper than ``index.max_result_window`` walks
with ``search_after`` only when the offset is inside the matches (the count comes first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from indexers.analysis import epoch_ms, plan_words
from indexers.backends.elastic.mapping import (
    DATE_FIELDS,
    EXACT_FIELDS,
    LIVE,
    SOFT_DELETED,
    SORT_DATE_FIELDS,
    SORT_TEXT_FIELDS,
)
from indexers.query import ListQuery, NotServable

__all__ = ["PAGE", "filter_query", "page_request", "q_clauses", "sort_plan"]

PAGE = 10_000  # index.max_result_window: deeper pages walk with search_after


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


def page_request(skip: int, take: int | None) -> tuple[int, int] | None:
    """``(from, size)`` of a page one request can fetch (within ``max_result_window``), or
    None: count first, then walk with ``search_after`` if the offset is inside the matches."""
    if take is not None and skip + take <= PAGE:
        return skip, take
    return None
