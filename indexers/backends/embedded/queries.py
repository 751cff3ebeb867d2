"""tantivy queries of a list: the filters and the exact ``q`` (see :mod:`indexers.analysis`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tantivy

from indexers.analysis import plan_words
from indexers.backends.embedded.schema import SCHEMA
from indexers.backends.plan import (
    LIVE,
    SOFT_DELETED,
    date_bounds,
    exact_conditions,
    visible_states,
)
from indexers.query import ListQuery

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
    "flag",
    "other_flags",
    "phrase_query",
    "q_query",
    "state_flags",
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


def flag(state: int, has_account: bool | None = None) -> str:
    """The ``flags`` term of a state, or of a state and an account kind."""
    return f"s{state}" if has_account is None else f"s{state}a{int(has_account)}"


def _flags(states: list[int], has_account: bool | None) -> list[str]:
    return [flag(state, has_account) for state in states]


def state_flags(query: ListQuery) -> list[str]:
    """The ``flags`` terms a document of the list holds one of (its state, and its account
    kind if the list filters on it). A customer's document holds exactly one state flag and
    one state-and-account flag; a tombstone holds none."""
    return _flags(visible_states(query.with_deleted), query.has_account)


def other_flags(query: ListQuery) -> list[str]:
    """The flags of the same kind as :func:`state_flags` that a document of the list lacks."""
    if query.has_account is None:
        every = _flags([LIVE, SOFT_DELETED], None)
    else:
        every = _flags([LIVE, SOFT_DELETED], True) + _flags([LIVE, SOFT_DELETED], False)
    mine = state_flags(query)
    return [flag for flag in every if flag not in mine]


def filter_clauses(query: ListQuery) -> list[tuple[tantivy.Occur, tantivy.Query]] | None:
    """Return the boolean clauses of a list query's filters (None: it matches nothing).

    The first clause is always the one on :func:`state_flags`.
    """
    exact = exact_conditions(query)
    if exact is None:
        return None
    flags = state_flags(query)
    # one term when possible: intersecting two huge posting lists costs milliseconds at 1M
    if len(flags) == 1:
        clauses = [(MUST, term_query("flags", flags[0]))]
    else:
        clauses = [(MUST, Q.term_set_query(SCHEMA, "flags", flags))]
    for condition in exact:
        field = condition.field
        if condition.any_of is not None:
            clauses.append((MUST, any_of([_value_query(field, v) for v in condition.any_of])))
        for value in condition.none_of:
            clauses.append((MUST_NOT, _value_query(field, value)))
    for bounds in date_bounds(query):
        clauses.append(
            (
                MUST,
                Q.range_query(
                    SCHEMA,
                    bounds.field,
                    I64,
                    bounds.lower,
                    bounds.upper,
                    include_lower=bounds.include_lower,
                    include_upper=bounds.include_upper,
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
