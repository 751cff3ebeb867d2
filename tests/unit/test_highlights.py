"""Highlights of the ranked lookup are ranges of the stored value, never marked-up text.

Both engines highlight with :class:`indexers.ranking.Highlighter` (tantivy's stored fields,
Elasticsearch's ``_source``); the Elasticsearch side is checked here on a response body, so
without a server.
"""

from __future__ import annotations

from typing import Any

from indexers.backends.elastic.ranked import ranked_hits
from indexers.query import Hit
from indexers.ranking import Highlighter, merge_ranges, plan_ranked


def highlights(q: str, **record: str) -> dict[str, list[tuple[int, int]]]:
    plan = plan_ranked(q)
    assert plan is not None
    return Highlighter(plan)(record)


def test_markup_in_a_value_is_only_text_with_ranges() -> None:
    value = "a<em>b</em>"
    assert highlights("quux", first_name=value, last_name="Quux") == {"last_name": [(0, 4)]}
    found = highlights("em", first_name=value)  # the value's own "em" words, by position
    assert found == {"first_name": [(2, 4), (8, 10)]}
    assert [value[s:e] for s, e in found["first_name"]] == ["em", "em"]


def test_ranges_count_code_points_of_the_value() -> None:
    value = "😀 Ann"  # one code point before the space (two UTF-16 units in a browser)
    assert highlights("ann", first_name=value) == {"first_name": [(2, 5)]}
    # "İ" lower-cases to two characters: the ranges still point into the stored value
    value = "İİ Ann"
    [(start, end)] = highlights("ann", first_name=value)["first_name"]
    assert value[start:end] == "Ann"


def test_accented_and_typo_matches_mark_the_stored_characters() -> None:
    value = "Zoë Smiht"
    found = highlights("zoe smith", first_name=value)["first_name"]
    assert [value[s:e] for s, e in found] == ["Zoë", "Smiht"]


def test_ranges_are_sorted_and_merged() -> None:
    assert merge_ranges([(5, 7), (0, 2), (1, 3), (3, 4), (9, 10)]) == [(0, 4), (5, 7), (9, 10)]
    # the word typed so far marks the words it starts; a substring inside a word: one range
    assert highlights("john", email="john@johnson.io") == {"email": [(0, 4), (5, 12)]}
    assert highlights("johnson john", last_name="Johnson") == {"last_name": [(0, 7)]}


def test_elasticsearch_hits_carry_the_same_ranges() -> None:
    plan = plan_ranked("quux")
    assert plan is not None
    source: dict[str, Any] = {"first_name": "a<em>b</em>", "last_name": "Quux", "email": None}
    found = [{"_id": "cus_1", "_score": 2.5, "_source": source}]
    assert ranked_hits(plan, found) == [
        Hit(id="cus_1", score=2.5, highlights={"last_name": [(0, 4)]})
    ]
