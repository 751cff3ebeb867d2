"""What the Elasticsearch engine sends, checked without a server.

Its documents, list queries, sort plans and ranked queries are built here and compared with
the embedded engine (a real tantivy index) on the same data: the same matches in the same order,
the same tokens, the same tiers. How Elasticsearch evaluates those requests is written down in
:mod:`tests.indexers.es_model`. The contract tests against a real server are in
``test_backend_contract.py`` (they need ``ELASTICSEARCH_URL``).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexers.backends import elastic
from indexers.backends.elastic.mapping import DOC_SOURCE, search_doc
from indexers.backends.embedded import EmbeddedBackend
from indexers.backends.embedded import paging as embedded_paging
from indexers.backends.embedded.documents import to_tantivy
from indexers.backends.embedded.ranked import ranked_query as embedded_ranked_query
from indexers.backends.embedded.schema import SEP
from indexers.backends.plan import LIVE, SOFT_DELETED
from indexers.documents import EXACT_FIELDS, KEPT_FIELDS, SearchDoc, to_search_doc
from indexers.query import ListQuery, NotServable, RangeFilter, TermFilter
from indexers.ranking import Score, plan_ranked
from tests.indexers import es_model
from tests.indexers.conftest import BASE_TIME, customer, upserts
from tests.indexers.test_query_equivalence import PIECES, maybe_text, orders, phone, queries

# -- documents -------------------------------------------------------------------------------------

SAMPLES = [
    customer(1),
    customer(
        2,
        email="Ann.Lee@Example.com",
        first_name="Ann",
        last_name="Lee-Smith",
        company_name="Zoë & Co",
        phone="+1 (555) 010-2030",
        has_account=True,
        created_by="user_1",
        groups=[
            {"customer_group_id": "cusgroup_b", "deleted_at": None},
            {"customer_group_id": "cusgroup_a", "deleted_at": None},
        ],
    ),
    customer(3, first_name="José", phone="n/a", deleted_at=BASE_TIME + timedelta(days=2)),
]


def _docs() -> list[SearchDoc]:
    return [to_search_doc(row, 7) for row in SAMPLES]


def test_every_field_of_a_document_is_in_the_mapping() -> None:
    properties = elastic.MAPPINGS["properties"]
    for doc in _docs():
        source = elastic.es_document(doc)
        assert set(source) <= set(properties), set(source) - set(properties)  # dynamic: strict
        assert source["id"] == doc.id and source["version"] == 7
    assert set(DOC_SOURCE) <= set(properties)


def test_a_document_reads_back_as_it_was_indexed() -> None:
    for doc in _docs():
        source = elastic.es_document(doc)
        assert search_doc({k: source[k] for k in DOC_SOURCE if k in source}) == doc


def test_states_nulls_and_exact_values() -> None:
    empty, full, deleted = (elastic.es_document(d) for d in _docs())
    assert (empty["state"], full["state"], deleted["state"]) == (LIVE, LIVE, SOFT_DELETED)
    assert empty["nulls"] == list(KEPT_FIELDS)
    assert not any(name in empty for name in KEPT_FIELDS)
    assert full["nulls"] == []
    assert full["email"] == "Ann.Lee@Example.com"  # exact filters compare the stored value
    assert full["groups"] == ["cusgroup_a", "cusgroup_b"]
    assert full["ex_email"] == "Ann.Lee@Example.com"  # the "lc" normalizer lower-cases it
    assert full["ex_phone"] == "15550102030"
    assert full["phone_sfx"][0] == "15550102030" and full["phone_sfx"][-1] == "2030"
    assert "deleted_at" in deleted and "deleted_at" not in full


def _tantivy_tokens(doc: SearchDoc) -> dict[str, Any]:
    """Each field's value; the values of a multi-valued one (g3's runs) as one token list."""
    return {
        name: values[0] if len(values) == 1 else SEP.join(values)
        for name, values in to_tantivy(doc).to_dict().items()
    }


def test_documents_hold_the_tokens_of_the_embedded_engine() -> None:
    for doc in _docs():
        source, tokens = elastic.es_document(doc), _tantivy_tokens(doc)
        for name in (*KEPT_FIELDS, "id"):
            assert source.get(name) == tokens.get(name)
        assert sorted(source["nulls"]) == sorted(
            tokens.get("nulls", "").split(SEP) if source["nulls"] else []
        )
        assert set(source["s"]) == set(tokens.get("s", "").split(SEP)) - {""}
        runs = [g for g in tokens.get("g3", "").split(SEP) if g]
        assert runs == [g for value in source["g"] for g in es_model.trigrams(value)]
        assert set(source.get("sd", [])) == set(tokens.get("sd", "").split(SEP)) - {""}
        for field in ("w_first", "w_last", "w_company", "w_email"):
            assert source.get(field, []) == [w for w in tokens.get(field, "").split(SEP) if w]


# -- list queries ------------------------------------------------------------------------------------

DAY = timedelta(days=1)


def test_filters_ask_for_what_the_list_query_says() -> None:
    query = ListQuery(
        terms=(
            TermFilter("email", in_=frozenset({"a@x.com", None})),
            TermFilter("created_by", nin=frozenset({"user_1"})),
        ),
        ranges=(RangeFilter("created_at", gt=BASE_TIME, gte=BASE_TIME, lte=BASE_TIME + DAY),),
        has_account=True,
        group_ids=frozenset({"g2", "g1"}),
        with_deleted=True,
    )
    start = 1_704_067_200_000  # BASE_TIME in epoch ms
    assert elastic.filter_query(query) == {
        "bool": {
            "filter": [
                {"terms": {"state": [LIVE, SOFT_DELETED]}},
                {
                    "bool": {
                        "should": [{"term": {"nulls": "email"}}, {"term": {"email": "a@x.com"}}],
                        "minimum_should_match": 1,
                    }
                },
                {"range": {"created_at": {"gt": start, "lte": start + 86_400_000}}},
                {"term": {"has_account": True}},
                {"terms": {"groups": ["g1", "g2"]}},
            ],
            "must_not": [{"term": {"created_by": "user_1"}}],
        }
    }
    assert elastic.filter_query(ListQuery())["bool"]["filter"] == [{"terms": {"state": [LIVE]}}]


def test_filters_that_match_nothing_or_that_the_index_cannot_serve() -> None:
    assert elastic.filter_query(ListQuery(terms=(TermFilter("email", in_=frozenset()),))) is None
    assert elastic.filter_query(ListQuery(group_ids=frozenset())) is None
    with pytest.raises(NotServable):
        elastic.filter_query(ListQuery(terms=(TermFilter("metadata", in_=frozenset({"x"})),)))
    with pytest.raises(NotServable):
        elastic.filter_query(ListQuery(ranges=(RangeFilter("email", gt=BASE_TIME),)))


def test_q_words_are_trigram_phrases_or_word_start_prefixes() -> None:
    long_word, short_word, phone_word, digit = elastic.q_clauses("Ann ab 555-12 5")
    assert long_word["bool"]["should"] == [{"term": {"g": "ann"}}]  # lower-cased
    assert short_word["bool"]["should"] == [{"term": {"s": "ab"}}]
    assert phone_word["bool"]["should"][1] == {
        "span_near": {
            "clauses": [
                {"span_term": {"gd": "555"}},
                {"span_gap": {"gd": 1}},
                {"span_term": {"gd": "512"}},
            ],
            "slop": 0,
            "in_order": True,
        }
    }  # 55512: its first and last trigrams at their places, against the phone's digits
    assert digit["bool"]["should"] == [{"term": {"s": "5"}}, {"term": {"sd": "5"}}]
    assert elastic.q_clauses("  ") == []


ORDERS = [
    (),
    (("id", "ASC"),),
    (("id", "DESC"),),
    (("email", "ASC"),),
    (("email", "desc"), ("id", "DESC")),
    (("created_at", "DESC"),),
    (("updated_at", "ASC"), ("id", "ASC")),
    (("deleted_at", "ASC"),),
    (("phone", "ASC"),),
    (("metadata", "ASC"),),
    (("id", "ASC"), ("email", "ASC")),
    (("id", "ASC"), ("id", "DESC")),
    (("email", "ASC"), ("first_name", "ASC")),
    (("email", "UP"),),
    (("email", "ASC"), ("id", "ASC"), ("id", "ASC")),
]


@pytest.mark.parametrize("order", ORDERS)
def test_both_engines_serve_the_same_orders(order: tuple[tuple[str, str], ...]) -> None:
    def served(plan: Any) -> bool:
        try:
            plan(order)
        except NotServable:
            return False
        return True

    assert served(elastic.sort_plan) == served(embedded_paging.sort_plan)


def test_sort_plans_name_a_key_and_a_direction() -> None:
    assert elastic.sort_plan(()) == ("id", "asc", "id")
    assert elastic.sort_plan((("id", "DESC"),)) == ("id", "desc", "id")
    assert elastic.sort_plan((("email", "ASC"),)) == ("k_email_a", "asc", "text_a")
    # (email DESC, id DESC) is (email ASC, id ASC) read backwards
    assert elastic.sort_plan((("email", "DESC"), ("id", "DESC"))) == ("k_email_a", "desc", "text_a")
    assert elastic.sort_plan((("created_at", "DESC"),)) == ("k_created_at_d", "asc", "date_d")


texts = st.one_of(st.none(), st.sampled_from(["ann", "Ann", "ab", "x@y.com", "", "ß", "zoë"]))
instants = st.integers(0, 4).map(lambda days: BASE_TIME + timedelta(days=days))


@st.composite
def rows(draw: Any) -> list[dict[str, Any]]:
    out = []
    for n in range(draw(st.integers(0, 12))):
        groups = draw(st.lists(st.sampled_from(["g1", "g2", "g3"]), max_size=2, unique=True))
        out.append(
            customer(
                n,
                email=draw(maybe_text),
                first_name=draw(st.one_of(maybe_text, texts)),
                last_name=draw(maybe_text),
                company_name=draw(texts),
                phone=draw(phone),
                has_account=draw(st.booleans()),
                created_by=draw(st.sampled_from([None, "user_1", "user_2"])),
                created_at=draw(instants),
                updated_at=draw(instants),
                deleted_at=draw(st.one_of(st.none(), instants)),
                groups=[{"customer_group_id": g, "deleted_at": None} for g in groups],
            )
        )
    return out


@st.composite
def list_queries(draw: Any) -> ListQuery:
    terms = []
    for field in draw(st.lists(st.sampled_from(["id", *EXACT_FIELDS]), max_size=2)):
        values = st.frozensets(st.one_of(texts, st.sampled_from(["cus_000001", "user_1"])))
        terms.append(TermFilter(field, in_=draw(st.one_of(st.none(), values)), nin=draw(values)))
    ranges = []
    for field in draw(
        st.lists(st.sampled_from(["created_at", "updated_at", "deleted_at"]), max_size=2)
    ):
        bound = st.one_of(st.none(), instants)
        ranges.append(
            RangeFilter(field, gt=draw(bound), gte=draw(bound), lt=draw(bound), lte=draw(bound))
        )
    return ListQuery(
        q=draw(st.one_of(st.none(), queries.map(lambda qs: qs[0]), st.sampled_from(PIECES))),
        terms=tuple(terms),
        ranges=tuple(ranges),
        has_account=draw(st.one_of(st.none(), st.booleans())),
        group_ids=draw(st.one_of(st.none(), st.frozensets(st.sampled_from(["g1", "g2", "g4"])))),
        with_deleted=draw(st.booleans()),
        order=draw(orders),
        skip=draw(st.integers(0, 5)),
        take=draw(st.one_of(st.none(), st.integers(0, 6))),
    )


def es_answer(sources: list[dict[str, Any]], query: ListQuery) -> tuple[list[str], int]:
    """The page and count Elasticsearch answers to the requests of ``query``."""
    field, direction, _ = elastic.sort_plan(query.order)
    body = elastic.filter_query(query)
    if body is None:
        return [], 0
    found = [source for source in sources if es_model.matches(body, source)]
    found.sort(key=lambda source: source[field], reverse=direction == "desc")
    ids = [source["id"] for source in found]
    end = None if query.take is None else query.skip + query.take
    return ids[query.skip : end], len(ids)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customers=rows(), list_queries=st.lists(list_queries(), min_size=1, max_size=4))
def test_list_requests_find_what_the_embedded_engine_finds(
    customers: list[dict[str, Any]], list_queries: list[ListQuery]
) -> None:
    sources = [elastic.es_document(op.doc) for op in upserts(customers)]

    async def run() -> None:
        with tempfile.TemporaryDirectory() as root:
            backend = EmbeddedBackend(root)
            try:
                await backend.activate(await backend.create_generation())
                await backend.apply(upserts(customers))
                await backend.refresh()
                for query in list_queries:
                    assert es_answer(sources, query) == await backend.list_ids(query), query
            finally:
                await backend.close()

    asyncio.run(run())


# -- the ranked lookup -------------------------------------------------------------------------------


def _es_scores(query: dict[str, Any]) -> list[float]:
    return [n["constant_score"]["boost"] for n in es_model.nodes(query) if "constant_score" in n]


def _embedded_scores(query: Any) -> list[float]:
    # tantivy's debug form of a query lists its constant scores in build order
    return [float(score) for score in re.findall(r"Const\(score=([0-9.]+)", repr(query))]


RANKED = [
    "Ann@Example.com",
    "+1 (555) 010-2030",
    "john doe",
    "doe john ",
    "jo",
    "jonathan smiht",
    "555-1234 ann",
    "Zoë",
    "a" * 30,
]


@pytest.mark.parametrize("q", RANKED)
def test_ranked_queries_have_the_tiers_of_the_embedded_engine(q: str) -> None:
    plan = plan_ranked(q)
    assert plan is not None
    scores = _es_scores(elastic.ranked_query(plan))
    assert scores and scores == _embedded_scores(embedded_ranked_query(plan))


def _tiers(q: str) -> list[dict[str, Any]]:
    plan = plan_ranked(q)
    assert plan is not None
    return elastic.ranked_query(plan)["bool"]["should"]


def _const(query: dict[str, Any], score: float) -> dict[str, Any]:
    return {"constant_score": {"filter": query, "boost": score}}


def test_exact_email_and_phone_come_first() -> None:
    assert _tiers(" Ann@Example.com")[0] == _const(
        {"term": {"ex_email": "ann@example.com"}}, Score.EXACT
    )
    exact, suffix = _tiers("+1 (555) 010-2030")[:2]
    assert exact == _const({"term": {"ex_phone": "15550102030"}}, Score.EXACT)
    assert suffix == _const({"term": {"phone_sfx": "15550102030"}}, Score.PHONE_SUFFIX)


def test_full_names_match_in_either_order_exactly_then_with_typos() -> None:
    exact, fuzzy = _tiers("jon smiht")[:2]
    assert exact["constant_score"]["boost"] == Score.FULL_NAME
    pairs = [
        clause["bool"]["filter"] for clause in exact["constant_score"]["filter"]["bool"]["should"]
    ]
    assert pairs == [
        [{"term": {"w_first": "jon"}}, {"term": {"w_last": "smiht"}}],
        [{"term": {"w_first": "smiht"}}, {"term": {"w_last": "jon"}}],
    ]
    assert fuzzy["constant_score"]["boost"] == Score.FUZZY_FULL_NAME
    typo = fuzzy["constant_score"]["filter"]["bool"]["should"][0]["bool"]["filter"][1]
    assert typo["fuzzy"]["w_last"]["value"] == "smiht" and typo["fuzzy"]["w_last"]["fuzziness"] == 1


def test_every_word_must_match_and_only_the_last_one_as_a_prefix() -> None:
    (words,) = [t for t in _tiers("anna smith") if "bool" in t and "must" in t["bool"]]
    first, last = (w["dis_max"]["queries"] for w in words["bool"]["must"])
    assert [o["constant_score"]["boost"] for o in first] == [
        Score.WORD,
        Score.FUZZY,
        Score.SUBSTRING,
    ]
    assert [o["constant_score"]["boost"] for o in last] == [
        Score.WORD,
        Score.PREFIX,
        Score.FUZZY,
        Score.SUBSTRING,
    ]
    fuzzy_fields = [next(iter(n["fuzzy"])) for n in es_model.nodes(first[1]) if "fuzzy" in n]
    assert fuzzy_fields == ["w_first", "w_last", "w_company"]  # an email word never by typo
    (typed,) = [t for t in _tiers("anna smith ") if "bool" in t and "must" in t["bool"]]
    # a trailing space: the last word is complete, no prefix clause
    assert not [n for n in es_model.nodes(typed) if "prefix" in n]
