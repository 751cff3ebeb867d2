"""The cost bounds of ``q`` and of the ranked lookup, in the pure parts (no I/O).

``q`` is bounded in length and words, looks at the first ``SEARCHED_CHARS`` characters of a
field (the MongoDB regexes included), phrases have at most one term per three characters, fuzzy
matching stops at ``MAX_FUZZY_CHARS``, highlights stop at a budget, and the Elasticsearch
requests carry the same caps.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import InvalidData
from app.limits import MAX_Q_CHARS, MAX_Q_WORDS
from app.textsearch import (
    SEARCHED_CHARS,
    check_q,
    check_word,
    digit_regex,
    is_short,
    matches,
    phone_regex,
    starts_regex,
    stored_terms,
    terms_regex,
)
from indexers.analysis import covering_trigrams, plan_words
from indexers.backends import elastic
from indexers.documents import SearchDoc
from indexers.ranking import MAX_FUZZY_CHARS, Highlighter, fuzzy_distance, plan_ranked
from tests.indexers import es_model
from tests.indexers.conftest import BASE_TIME

# -- q limits ------------------------------------------------------------------------------------


def test_q_within_the_limits_is_accepted() -> None:
    check_q("a" * MAX_Q_CHARS)
    check_q(" ".join(["ab"] * MAX_Q_WORDS))


@pytest.mark.parametrize(
    ("q", "limit"),
    [
        ("a" * (MAX_Q_CHARS + 1), f"{MAX_Q_CHARS} characters"),
        (" ".join(["ab"] * (MAX_Q_WORDS + 1)), f"{MAX_Q_WORDS} words"),
    ],
)
def test_q_over_the_limits_is_invalid_data_naming_q_and_the_limit(q: str, limit: str) -> None:
    with pytest.raises(InvalidData) as info:
        check_q(q)
    assert "'q'" in info.value.message and limit in info.value.message
    assert len(info.value.message) < 100  # the value itself is not repeated


# -- q looks at the first SEARCHED_CHARS characters ----------------------------------------------


def test_q_finds_words_inside_the_searched_part_only() -> None:
    inside = "x" * (SEARCHED_CHARS - 6) + "needle"
    outside = "x" * (SEARCHED_CHARS - 5) + "needle"
    assert matches("needle", {"email": inside})
    assert not matches("needle", {"email": outside})
    assert matches("ab", {"first_name": "x" * (SEARCHED_CHARS - 3) + " ab"})
    assert not matches("ab", {"first_name": "x" * (SEARCHED_CHARS - 2) + " ab"})
    digits = "1" * (SEARCHED_CHARS - 3)
    assert matches("987", {"phone": f"+{digits}-987"})  # the digits' first SEARCHED_CHARS
    assert not matches("987", {"phone": f"+{digits}0-987"})


def _regex_matches(condition: dict[str, Any], value: str) -> bool:
    """Evaluate a ``$regex`` as the embedded server does (Python ``re``)."""
    flags = re.IGNORECASE if "i" in condition.get("$options", "") else 0
    return re.search(condition["$regex"], value, flags) is not None


LETTERS = st.text(alphabet="ab -.1", min_size=0, max_size=12)


def _terms_match(word: str, value: str) -> bool:
    """Evaluate the MongoDB condition of one word against a value's stored terms."""
    terms, needle = stored_terms([value]), check_word(word)
    if is_short(word):
        return any(_regex_matches(starts_regex(needle), start) for start in terms["starts"])
    return any(_regex_matches(terms_regex(needle), text) for text in terms["text"])


@given(
    word=st.text(alphabet="ab-.", min_size=1, max_size=5),
    head=st.integers(SEARCHED_CHARS - 12, SEARCHED_CHARS + 2),
    tail=LETTERS,
    filler=st.sampled_from(["x", " ", "."]),
)
def test_the_mongodb_terms_equal_the_definition_at_the_boundary(
    word: str, head: int, tail: str, filler: str
) -> None:
    value = filler * head + tail
    assert _terms_match(word, value) == matches(word, {"email": value}, ["email"])


@given(
    digits=st.text(alphabet="12", min_size=1, max_size=4),
    head=st.integers(SEARCHED_CHARS - 8, SEARCHED_CHARS + 2),
    tail=st.text(alphabet="12 -", max_size=8),
)
def test_the_phone_regexes_equal_the_definition_at_the_boundary(
    digits: str, head: int, tail: str
) -> None:
    phone = "9" * head + tail
    record = {"phone": phone}
    stored_digits = "".join(c for c in phone if c.isdigit())
    if len(digits) >= 3:
        got = _regex_matches(digit_regex(digits), stored_digits)
    else:
        got = _regex_matches(phone_regex(digits), phone)
    assert got == matches(digits, record, [])


def test_the_stored_terms_never_grow_with_a_long_stored_value() -> None:
    # the terms hold the searched part only, and the regexes are anchored or over those terms
    value = "needle".join(["x" * SEARCHED_CHARS] * 2)  # after the searched part only
    (text,) = stored_terms([value])["text"]
    assert len(text) == SEARCHED_CHARS
    assert not _terms_match("needle", value)
    assert digit_regex("123")["$regex"].startswith("^")
    assert terms_regex("needle") == {"$regex": "needle"}  # no case folding by the server


# -- phrases: one term per three characters, exact -----------------------------------------------


@given(st.text(alphabet="abc", min_size=3, max_size=40))
def test_covering_trigrams_pin_every_character(word: str) -> None:
    grams = covering_trigrams(word)
    assert len(grams) <= len(word) // 3 + 1
    covered = set()
    for offset, gram in grams:
        assert word[offset : offset + 3] == gram
        covered.update(range(offset, offset + 3))
    assert covered == set(range(len(word)))


def test_the_longest_word_is_a_phrase_of_a_third_of_its_trigrams() -> None:
    (plan,) = plan_words("a" * MAX_Q_CHARS)
    assert len(plan.text_trigrams) == MAX_Q_CHARS // 3 + 1


# -- the ranked lookup ----------------------------------------------------------------------------


def test_long_words_are_never_fuzzy() -> None:
    assert fuzzy_distance("a" * MAX_FUZZY_CHARS) == 2
    assert fuzzy_distance("a" * (MAX_FUZZY_CHARS + 1)) == 0


def test_highlights_show_the_searched_part_of_a_long_value() -> None:
    plan = plan_ranked("aaaa")
    assert plan is not None
    email = "a" * 1_000_000 + "@example.com"
    marked = Highlighter(plan)({"email": email, "first_name": "Aaaa"})
    assert marked["first_name"] == [(0, 4)]
    assert marked["email"] == [(0, SEARCHED_CHARS)]  # the searched part only


def test_highlights_stop_when_the_lookup_budget_is_spent() -> None:
    plan = plan_ranked("jhon smiht")
    assert plan is not None
    highlight = Highlighter(plan, checks=6, edits=100)
    first = highlight({"first_name": "John", "last_name": "Smith", "company_name": "Acme"})
    assert first == {"first_name": [(0, 4)], "last_name": [(0, 5)]}
    assert highlight({"first_name": "Jhonny", "last_name": "Smithe"}) == {}  # budget spent
    # no edit distance left: typos are not marked any more, exact words still are
    typo_free = Highlighter(plan, edits=0)
    assert typo_free({"first_name": "John", "last_name": "smiht"}) == {"last_name": [(0, 5)]}


# -- Elasticsearch requests (no server needed) ----------------------------------------------------


def test_elasticsearch_pages_beyond_the_result_window_are_counted_first() -> None:
    assert elastic.page_request(0, 50) == (0, 50)
    assert elastic.page_request(9_950, 50) == (9_950, 50)
    assert elastic.page_request(9_951, 50) is None  # from + size > max_result_window
    assert elastic.page_request(2**31 - 1, 50) is None
    assert elastic.page_request(0, None) is None


def test_elasticsearch_phrases_are_span_near_with_gaps() -> None:
    (clause,) = elastic.q_clauses("abcdefg")
    (phrase,) = clause["bool"]["should"]
    assert phrase == {
        "span_near": {
            "clauses": [
                {"span_term": {"g": "abc"}},
                {"span_gap": {"g": 2}},
                {"span_term": {"g": "def"}},
                {"span_term": {"g": "efg"}},
            ],
            "slop": 0,
            "in_order": True,
        }
    }
    (long_clause,) = elastic.q_clauses("a" * MAX_Q_CHARS)
    terms = long_clause["bool"]["should"][0]["span_near"]["clauses"]
    assert sum("span_term" in c for c in terms) == MAX_Q_CHARS // 3 + 1


def test_elasticsearch_fuzzy_and_prefix_clauses_cap_their_expansions() -> None:
    plan = plan_ranked("jonathan smiht")
    assert plan is not None
    nodes = es_model.nodes(elastic.ranked_query(plan))
    fuzzy = [n["fuzzy"] for n in nodes if "fuzzy" in n]
    prefix = [n["prefix"] for n in nodes if "prefix" in n]
    phrase_prefix = [n["match_phrase_prefix"] for n in nodes if "match_phrase_prefix" in n]
    assert fuzzy and prefix and phrase_prefix
    assert all(v["max_expansions"] == 50 for f in fuzzy for v in f.values())
    assert all(v["rewrite"] == "top_terms_50" for p in prefix for v in p.values())
    assert all(v["max_expansions"] == 50 for p in phrase_prefix for v in p.values())
    long_word = plan_ranked("a" * (MAX_FUZZY_CHARS + 1))
    assert long_word is not None
    assert not [n for n in es_model.nodes(elastic.ranked_query(long_word)) if "fuzzy" in n]


def test_elasticsearch_documents_do_not_grow_with_a_long_stored_value() -> None:
    doc = SearchDoc(
        id="cus_1",
        email="a" * 1_000_000 + "@example.com",
        first_name="b" * 100_000,
        last_name=None,
        company_name=None,
        phone="1" * 100_000,
        phone_digits=None,
        has_account=False,
        group_ids=(),
        created_by=None,
        created_at=BASE_TIME,
        updated_at=BASE_TIME,
        deleted_at=None,
        version=1,
    )
    source = elastic.es_document(doc)
    assert all(len(text) <= SEARCHED_CHARS for text in source["g"])
    assert len(source["gd"][0]) <= SEARCHED_CHARS
    assert all(len(w) <= SEARCHED_CHARS for w in source["w_email"] + source["w_first"])
    assert len(source["phone_sfx"]) <= 20


def test_words_another_word_implies_are_not_looked_up() -> None:
    from indexers.analysis import needed_words

    assert needed_words("John john JOHN jo ann annie 555-123 55512 aaa aaaa") == [
        "JOHN",
        "jo",
        "annie",
        "555-123",
        "55512",
        "aaaa",
    ]
    # 32 words that all say the same thing cost one word
    assert len(plan_words(" ".join(["a" * k for k in range(3, 3 + MAX_Q_WORDS)]))) == 1
