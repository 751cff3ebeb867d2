"""Elasticsearch queries of a list: the filters, the exact ``q``, the sort and the page.

A word of ``q`` is a ``span_near`` of its covering trigrams, ``span_gap`` clauses between them
(at most ``len(word) / 3 + 1`` terms). A page deeper than ``index.max_result_window`` walks
with ``search_after`` only when the offset is inside the matches (the count comes first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from indexers.analysis import plan_words
from indexers.backends.plan import date_bounds, exact_conditions, order_of, visible_states
from indexers.documents import SORT_DATE_FIELDS
from indexers.query import ListQuery

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
    exact = exact_conditions(query)
    if exact is None:
        return None
    must: list[dict[str, Any]] = [{"terms": {"state": visible_states(query.with_deleted)}}]
    must_not: list[dict[str, Any]] = []
    for condition in exact:
        field = condition.field
        if condition.any_of is not None:
            should = [_value(field, v) for v in condition.any_of]
            must.append({"bool": {"should": should, "minimum_should_match": 1}})
        must_not.extend(_value(field, v) for v in condition.none_of)
    for bounds in date_bounds(query):
        limits: dict[str, int] = {}
        if bounds.lower is not None:
            limits["gte" if bounds.include_lower else "gt"] = bounds.lower
        if bounds.upper is not None:
            limits["lte" if bounds.include_upper else "lt"] = bounds.upper
        must.append({"range": {bounds.field: limits}})
    if query.has_account is not None:
        must.append({"term": {"has_account": query.has_account}})
    if query.group_ids is not None:
        if not query.group_ids:
            return None
        must.append({"terms": {"groups": sorted(query.group_ids)}})
    must.extend(q_clauses(query.q))
    return {"bool": {"filter": must, "must_not": must_not}}


def sort_plan(order: Sequence[tuple[str, str]]) -> tuple[str, str, str]:
    """Return (keyword field, "asc"|"desc", key kind) for Medusa's order + id tie-breaker.

    A field's two keys (``k_<field>_a``: value ascending, id ascending; ``_d``: value
    descending, id ascending) give its four orders, each read forwards or backwards.
    """
    plan = order_of(order)
    field = plan.field
    if field == "id":
        return "id", "asc" if plan.ascending else "desc", "id"
    kind = "date" if field in SORT_DATE_FIELDS else "text"
    if plan.ascending:
        name, asc = (f"k_{field}_a", True) if plan.tie_ascending else (f"k_{field}_d", False)
    else:
        name, asc = (f"k_{field}_d", True) if plan.tie_ascending else (f"k_{field}_a", False)
    return name, "asc" if asc else "desc", f"{kind}_{name[-1]}"


def page_request(skip: int, take: int | None) -> tuple[int, int] | None:
    """``(from, size)`` of a page one request can fetch (within ``max_result_window``), or
    None: count first, then walk with ``search_after`` if the offset is inside the matches."""
    if take is not None and skip + take <= PAGE:
        return skip, take
    return None
