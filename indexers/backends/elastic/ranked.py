"""The ranked lookup on Elasticsearch: the same tiers and scores as the embedded engine.

Fuzzy and prefix clauses expand to at most :data:`~indexers.ranking.MAX_EXPANSIONS` terms.
"""

from __future__ import annotations

from typing import Any

from indexers.backends.elastic.queries import q_clauses
from indexers.documents import TEXT_FIELDS
from indexers.query import Hit
from indexers.ranking import (
    FIRST_NAME_WORDS,
    FUZZY_WORD_FIELDS,
    LAST_NAME_WORDS,
    MAX_EXPANSIONS,
    WORD_FIELDS,
    RankedPlan,
    Score,
    best_hits,
    fuzzy_distance,
)

__all__ = ["ranked_hits", "ranked_query"]


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


def ranked_query(plan: RankedPlan) -> dict[str, Any]:
    """Build the tiered ranked query (same tiers and scores as the embedded engine)."""
    tiers: list[dict[str, Any]] = []
    if plan.email:
        tiers.append(_const({"term": {"ex_email": plan.email}}, Score.EXACT))
    if plan.phone_digits:
        tiers.append(_const({"term": {"ex_phone": plan.phone_digits}}, Score.EXACT))
        if len(plan.phone_digits) >= 4:
            tiers.append(_const({"term": {"phone_sfx": plan.phone_digits}}, Score.PHONE_SUFFIX))

    def name_word(field: str, word: str, exact: bool) -> dict[str, Any]:
        distance = fuzzy_distance(word)
        if exact or not distance:
            return {"term": {field: word}}
        return _fuzzy(field, word, distance)

    if len(plan.words) >= 2:
        pairs = [(plan.words[0], plan.words[-1]), (plan.words[-1], plan.words[0])]
        for exact, score in ((True, Score.FULL_NAME), (False, Score.FUZZY_FULL_NAME)):
            tiers.append(
                _const(
                    _any(
                        [
                            {
                                "bool": {
                                    "filter": [
                                        name_word(FIRST_NAME_WORDS, a, exact),
                                        name_word(LAST_NAME_WORDS, b, exact),
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
        options = [_const(_any([{"term": {f: word}} for f in WORD_FIELDS]), Score.WORD)]
        if is_last and plan.prefix_last:
            prefix = {"value": word, "rewrite": f"top_terms_{MAX_EXPANSIONS}"}
            sayt = {"query": word, "max_expansions": MAX_EXPANSIONS}
            options.append(
                _const(
                    _any(
                        [{"prefix": {f: prefix}} for f in WORD_FIELDS]
                        + [{"match_phrase_prefix": {"full_name_sayt": sayt}}]
                    ),
                    Score.PREFIX,
                )
            )
        distance = fuzzy_distance(word)
        if distance:  # names and company only: email words match exactly or as a prefix
            fuzzy = [_fuzzy(f, word, distance) for f in FUZZY_WORD_FIELDS]
            options.append(_const(_any(fuzzy), Score.FUZZY))
        substring = q_clauses(plan.raw_words[index])
        if substring:
            options.append(_const(substring[0], Score.SUBSTRING))
        if plan.word_digits[index]:
            options.append(
                _const({"term": {"phone_sfx": plan.word_digits[index]}}, Score.WORD_PHONE_SUFFIX)
            )
        per_word.append({"dis_max": {"queries": options}})
    if per_word:
        tiers.append({"bool": {"must": per_word}})
    return {"bool": {"should": tiers, "minimum_should_match": 1}}


def ranked_hits(plan: RankedPlan, found: list[dict[str, Any]]) -> list[Hit]:
    """The ranked hits of a search response, best first, with their highlights."""
    return best_hits(
        plan,
        (
            (
                hit["_id"],
                hit["_score"] or 0.0,
                {name: hit["_source"].get(name) for name in TEXT_FIELDS},
            )
            for hit in found
        ),
    )
