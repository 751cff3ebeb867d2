"""tantivy queries of a list: the filters and the exact ``q`` (see :mod:`indexers.analysis`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tantivy

from indexers.analysis import epoch_ms, plan_words
from indexers.backends.embedded.schema import (
    DATE_FIELDS,
    EXACT_FIELDS,
    LIVE,
    SCHEMA,
    SOFT_DELETED,
)
from indexers.query import ListQuery, NotServable

__all__ = [
    "I64",
    "MUST",
    "MUST_NOT",
    "SHOULD",
    "U64",
    "Q",
    "all_of",
    "any_of",
    "filter_clauses",
    "phrase_query",
    "q_query",
    "term_query",
]

Q = tantivy.Query
MUST, SHOULD, MUST_NOT = tantivy.Occur.Must, tantivy.Occur.Should, tantivy.Occur.MustNot
U64, I64 = tantivy.FieldType.Unsigned, tantivy.FieldType.Integer


def term_query(field: str, value: Any) -> tantivy.Query:
    return Q.term_query(SCHEMA, field, value, index_option="basic")


def phrase_query(field: str, grams: Sequence[tuple[int, str]]) -> tantivy.Query:
    """The phrase of (offset, trigram) pairs (see :func:`indexers.analysis.covering_trigrams`)."""
    if len(grams) == 1:
        return term_query(field, grams[0][1])
    return Q.phrase_query(SCHEMA, field, list(grams))


def any_of(queries: list[tantivy.Query]) -> tantivy.Query:
    if not queries:
        return Q.empty_query()
    if len(queries) == 1:
        return queries[0]
    return Q.boolean_query([(SHOULD, q) for q in queries])


def all_of(queries: list[tantivy.Query]) -> tantivy.Query:
    return queries[0] if len(queries) == 1 else Q.boolean_query([(MUST, q) for q in queries])


def q_query(q: str | None) -> list[tantivy.Query]:
    """Return one clause per word of ``q``; a document must match all of them."""
    clauses = []
    for plan in plan_words(q):
        options = []
        if plan.text_trigrams:
            options.append(phrase_query("g3", plan.text_trigrams))
        if plan.text_prefix is not None:
            options.append(term_query("s", plan.text_prefix))
        if plan.digit_trigrams:
            options.append(phrase_query("gd", plan.digit_trigrams))
        if plan.digit_prefix is not None:
            options.append(term_query("sd", plan.digit_prefix))
        clauses.append(any_of(options))
    return clauses


def _value_query(field: str, value: str | None) -> tantivy.Query:
    return term_query("nulls", field) if value is None else term_query(field, value)


def filter_clauses(query: ListQuery) -> list[tuple[tantivy.Occur, tantivy.Query]] | None:
    """Return the boolean clauses of a list query's filters (None: it matches nothing)."""
    states = [LIVE, SOFT_DELETED] if query.with_deleted else [LIVE]
    suffix = "" if query.has_account is None else f"a{int(query.has_account)}"
    flags = [f"s{state}{suffix}" for state in states]
    # one term when possible: intersecting two huge posting lists costs milliseconds at 1M
    if len(flags) == 1:
        clauses = [(MUST, term_query("flags", flags[0]))]
    else:
        clauses = [(MUST, Q.term_set_query(SCHEMA, "flags", flags))]
    for term in query.terms:
        field = term.field
        if field not in EXACT_FIELDS and field != "id":
            raise NotServable(f"no exact filter on {field!r}")
        if term.in_ is not None:
            if not term.in_:
                return None
            values = sorted(term.in_, key=str)
            clauses.append((MUST, any_of([_value_query(field, v) for v in values])))
        for value in sorted(term.nin, key=str):
            clauses.append((MUST_NOT, _value_query(field, value)))
    for rng in query.ranges:
        if rng.field not in DATE_FIELDS:
            raise NotServable(f"no range filter on {rng.field!r}")
        lower = upper = None
        inc_lower = inc_upper = True
        if rng.gt is not None:
            lower, inc_lower = epoch_ms(rng.gt), False
        if rng.gte is not None:
            value = epoch_ms(rng.gte)
            if lower is None or value > lower:
                lower, inc_lower = value, True
        if rng.lt is not None:
            upper, inc_upper = epoch_ms(rng.lt), False
        if rng.lte is not None:
            value = epoch_ms(rng.lte)
            if upper is None or value < upper:
                upper, inc_upper = value, True
        if lower is None and upper is None:
            continue
        clauses.append(
            (
                MUST,
                Q.range_query(
                    SCHEMA,
                    rng.field,
                    I64,
                    lower,
                    upper,
                    include_lower=inc_lower,
                    include_upper=inc_upper,
                ),
            )
        )
    if query.group_ids is not None:
        if not query.group_ids:
            return None
        clauses.append((MUST, Q.term_set_query(SCHEMA, "groups", sorted(query.group_ids))))
    for clause in q_query(query.q):
        clauses.append((MUST, clause))
    return clauses
