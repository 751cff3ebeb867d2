"""The ranked lookup on tantivy: tiers of constant-score queries (see :mod:`indexers.ranking`)."""

from __future__ import annotations

from typing import Any

import tantivy

from indexers.analysis import covering_trigrams
from indexers.backends.embedded.queries import (
    MUST,
    SHOULD,
    Q,
    all_of,
    any_of,
    filter_clauses,
    phrase_query,
    q_query,
    term_query,
)
from indexers.backends.embedded.results import hit_count
from indexers.backends.embedded.schema import SCHEMA
from indexers.documents import TEXT_FIELDS
from indexers.query import Hit, RankedQuery
from indexers.ranking import (
    EMAIL_FIELD,
    FIRST_NAME_WORDS,
    FUZZY_WORD_FIELDS,
    LAST_NAME_WORDS,
    WORD_FIELDS,
    RankedPlan,
    Score,
    best_hits,
    fuzzy_distance,
    plan_ranked,
)

__all__ = ["ranked_query", "search"]


def _word_query(field: str, word: str, *, exact: bool) -> tantivy.Query:
    distance = fuzzy_distance(word)
    if exact or not distance:
        return term_query(field, word)
    return Q.fuzzy_term_query(SCHEMA, field, word, distance=distance)


def ranked_query(plan: RankedPlan) -> tantivy.Query:
    """Build the tiered ranked query: exact email/phone > full name > prefix > fuzzy."""
    const = Q.const_score_query
    tiers: list[tuple[tantivy.Occur, tantivy.Query]] = []
    if plan.email:
        tiers.append((SHOULD, const(term_query(EMAIL_FIELD, plan.email), Score.EXACT)))
    if plan.phone_digits:
        exact_phone = phrase_query("gd", covering_trigrams(f"^{plan.phone_digits}$"))
        tiers.append((SHOULD, const(exact_phone, Score.EXACT)))
        if len(plan.phone_digits) >= 4:
            suffix = phrase_query("gd", covering_trigrams(f"{plan.phone_digits}$"))
            tiers.append((SHOULD, const(suffix, Score.PHONE_SUFFIX)))
    if len(plan.words) >= 2:
        pairs = [(plan.words[0], plan.words[-1]), (plan.words[-1], plan.words[0])]
        for exact, score in ((True, Score.FULL_NAME), (False, Score.FUZZY_FULL_NAME)):
            tiers.append(
                (
                    SHOULD,
                    const(
                        any_of(
                            [
                                all_of(
                                    [
                                        _word_query(FIRST_NAME_WORDS, a, exact=exact),
                                        _word_query(LAST_NAME_WORDS, b, exact=exact),
                                    ]
                                )
                                for a, b in pairs
                            ]
                        ),
                        score,
                    ),
                )
            )
    # every word must match somewhere: exact word 30, prefix (last word) 10, fuzzy 3, substring 1
    per_word: list[tuple[tantivy.Occur, tantivy.Query]] = []
    for index, word in enumerate(plan.words):
        is_last = index == len(plan.words) - 1
        options = [const(any_of([term_query(f, word) for f in WORD_FIELDS]), Score.WORD)]
        if is_last and plan.prefix_last:
            options.append(
                const(
                    any_of(
                        [
                            Q.fuzzy_term_query(SCHEMA, f, word, distance=0, prefix=True)
                            for f in WORD_FIELDS
                        ]
                    ),
                    Score.PREFIX,
                )
            )
        distance = fuzzy_distance(word)
        if distance:
            prefix = is_last and plan.prefix_last
            fuzzy = [
                Q.fuzzy_term_query(SCHEMA, f, word, distance=distance, prefix=prefix)
                for f in FUZZY_WORD_FIELDS
            ]
            options.append(const(any_of(fuzzy), Score.FUZZY))
        substring = q_query(plan.raw_words[index])
        if substring:
            options.append(const(substring[0], Score.SUBSTRING))
        if plan.word_digits[index]:
            suffix = phrase_query("gd", covering_trigrams(f"{plan.word_digits[index]}$"))
            options.append(const(suffix, Score.WORD_PHONE_SUFFIX))
        per_word.append((MUST, Q.disjunction_max_query(options)))
    if per_word:
        tiers.append((SHOULD, Q.boolean_query(per_word)))
    return Q.boolean_query(tiers)


def search(searcher: tantivy.Searcher, query: RankedQuery) -> tuple[list[Hit], int]:
    """Return the best hits of a ranked lookup and the number of matching customers."""
    plan = plan_ranked(query.q)
    if plan is None:
        return [], 0
    clauses = filter_clauses(query.filters)
    if clauses is None:
        return [], 0
    filters = Q.const_score_query(Q.boolean_query(clauses), 0.0)  # filters do not score
    tq = Q.boolean_query([(MUST, filters), (MUST, ranked_query(plan))])
    result = searcher.search(tq, max(query.limit, 1), count=True)
    hits = best_hits(plan, (_found(searcher, score, addr) for score, addr in result.hits))
    return hits[: query.limit], hit_count(result)


def _found(
    searcher: tantivy.Searcher, score: float, addr: tantivy.DocAddress
) -> tuple[str, float, dict[str, Any]]:
    """A match as :func:`best_hits` takes it: its id, score and stored text fields."""
    stored = searcher.doc(addr).to_dict()
    return stored["id"][0], score, {name: (stored.get(name) or [None])[0] for name in TEXT_FIELDS}
