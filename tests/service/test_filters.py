"""Filters: every operator, relation filters, ``q``, and rejection of raw MongoDB input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import CustomerModuleError
from app.textsearch import matches


@pytest.fixture
def people(service):
    return service.create_customers(
        [
            {"email": "test1@email.com", "first_name": "John", "last_name": "Doe", "phone": "+1 (555) 123-4567"},
            {"email": "test2@email.com", "first_name": "Jane", "last_name": "Doe", "company_name": "Acme Inc"},
            {"email": "james@x.org", "first_name": "James", "last_name": "Bond", "has_account": True},
            {"email": "eldon@x.org", "first_name": "Eldon", "last_name": "Tyrell", "company_name": "100%_real"},
        ]
    )  # fmt: skip


def emails(service, filters, config=None):
    return [c.email for c in service.list_customers(filters, config)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"last_name": "Doe"}, ["test1@email.com", "test2@email.com"]),
        ({"last_name": ["Bond", "Tyrell"]}, ["james@x.org", "eldon@x.org"]),
        ({"last_name": {"$eq": "Bond"}}, ["james@x.org"]),
        ({"last_name": {"$ne": "Doe"}}, ["james@x.org", "eldon@x.org"]),
        ({"first_name": {"$in": ["John", "James"]}}, ["test1@email.com", "james@x.org"]),
        ({"first_name": {"$nin": ["John", "James"]}}, ["test2@email.com", "eldon@x.org"]),
        ({"first_name": {"$like": "Ja%"}}, ["test2@email.com", "james@x.org"]),
        ({"first_name": {"$like": "ja%"}}, []),
        ({"first_name": {"$ilike": "ja%"}}, ["test2@email.com", "james@x.org"]),
        ({"first_name": {"$like": "J_n%"}}, ["test2@email.com"]),
        ({"email": {"$gt": "test1@email.com"}}, ["test2@email.com"]),
        ({"email": {"$gte": "test1@email.com"}}, ["test1@email.com", "test2@email.com"]),
        ({"email": {"$lt": "f"}}, ["eldon@x.org"]),
        ({"email": {"$lte": "james@x.org"}}, ["james@x.org", "eldon@x.org"]),
        ({"email": "TEST1@email.com"}, ["test1@email.com"]),
        ({"has_account": True}, ["james@x.org"]),
        ({"company_name": None}, ["test1@email.com", "james@x.org"]),
        (
            {"$or": [{"first_name": "John"}, {"last_name": "Bond"}]},
            ["test1@email.com", "james@x.org"],
        ),
        ({"$and": [{"last_name": "Doe"}, {"first_name": {"$ne": "John"}}]}, ["test2@email.com"]),
    ],
)
def test_operators(service, people, filters, expected):
    assert emails(service, filters) == expected


def test_date_ranges(service, people):
    first = service.retrieve_customer(people[0].id)
    later = first.created_at + timedelta(days=1)
    assert len(emails(service, {"created_at": {"$lte": later}})) == 4
    assert emails(service, {"created_at": {"$gt": later}}) == []
    assert len(emails(service, {"updated_at": {"$gte": first.created_at.isoformat()}})) == 4
    assert emails(service, {"created_at": {"$lt": datetime(2000, 1, 1, tzinfo=UTC)}}) == []


@pytest.mark.parametrize(
    "filters",
    [
        {"$where": "sleep(1000)"},
        {"email": {"$where": "1"}},
        {"email": {"$regex": ".*"}},
        {"email": {"$exists": True}},
        {"email": {"$in": [{"$gt": ""}]}},
        {"email": [{"$ne": None}]},
        {"password": "x"},
        {"$or": {"email": "x"}},
        {"metadata.role": "admin"},
        {"first_name": {"$like": 5}},
        {"has_account": "yes"},
        {"created_at": {"$gt": "not a date"}},
        {"groups": {"$ne": None}},
        {"groups": [{"$gt": ""}]},
        {"q": {"$ne": ""}},
    ],
)
def test_raw_mongodb_operators_and_unknown_fields_are_rejected(service, people, filters):
    with pytest.raises(CustomerModuleError) as info:
        service.list_customers(filters)
    assert info.value.type == "invalid_data"


def test_groups_filter_forms(service, people):
    vip, gold = service.create_customer_groups([{"name": "VIP"}, {"name": "Gold"}])
    service.add_customer_to_group(
        [
            {"customer_id": people[0].id, "customer_group_id": vip.id},
            {"customer_id": people[2].id, "customer_group_id": gold.id},
        ]
    )
    assert emails(service, {"groups": vip.id}) == ["test1@email.com"]
    assert emails(service, {"groups": [vip.id, gold.id]}) == ["test1@email.com", "james@x.org"]
    assert emails(service, {"groups": {"id": [gold.id]}}) == ["james@x.org"]
    assert emails(service, {"groups": {"name": "VIP"}}) == ["test1@email.com"]
    service.soft_delete_customer_groups([vip.id])
    assert emails(service, {"groups": vip.id}) == []


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("est2@", ["test2@email.com"]),
        ("do", ["test1@email.com", "test2@email.com"]),
        ("John Doe", ["test1@email.com"]),
        ("doe john", ["test1@email.com"]),
        ("JAMES", ["james@x.org"]),
        ("5551234567", ["test1@email.com"]),
        ("(555) 123-4567", ["test1@email.com"]),
        ("555-123", ["test1@email.com"]),
        ("12", ["test1@email.com"]),  # the start of the phone's "123"
        ("23", []),
        ("1", ["test1@email.com", "eldon@x.org"]),
        ("%", []),
        ("100%_", ["eldon@x.org"]),
        ("_", ["eldon@x.org"]),  # a literal underscore after "%"
        ("j_n", []),  # not a wildcard: "Jane" does not match
        ("", ["test1@email.com", "test2@email.com", "james@x.org", "eldon@x.org"]),
        ("   ", ["test1@email.com", "test2@email.com", "james@x.org", "eldon@x.org"]),
        ("acme jane", ["test2@email.com"]),
        ("x.o", ["james@x.org", "eldon@x.org"]),
        ("j.*", []),
    ],
)
def test_q_semantics(service, people, q, expected):
    assert emails(service, {"q": q}) == expected
    records = [service.retrieve_customer(p.id).model_dump() for p in people]
    assert [r["email"] for r in records if matches(q, r)] == expected


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("xa", True),  # 2 characters at the start of a word
        ("on", True),  # ... of a later word
        ("av", False),  # 2 characters inside a word: short words only match word starts
        ("nb", False),
        ("xav", True),  # 3 characters: anywhere
        ("avi", True),
        ("ier", True),
        ("avie", True),  # 4 characters: anywhere
        ("55", True),  # 2 digits at the start of a digit run
        ("23", False),  # 2 digits inside a run
        ("550", True),  # 3 digits: digit to digit, across the runs of "+1 555 0123"
        ("012", True),
    ],
)
def test_q_short_word_boundaries(service, q, found):
    """Pins the short-word rule (words under 3 characters only at a word start) on both the
    definition and MongoDB: a rule off by one changes both alike, which no comparison of the
    two can notice."""
    customer = service.create_customers({"first_name": "Xavier Onboarding", "phone": "+1 555 0123"})
    assert matches(q, customer.model_dump()) is found
    assert [c.id for c in service.list_customers({"q": q})] == ([customer.id] if found else [])


def test_q_is_anded_with_other_filters(service, people):
    assert emails(service, {"q": "doe", "first_name": "Jane"}) == ["test2@email.com"]
    assert service.list_and_count_customers({"q": "x.org"}, {"take": 1})[1] == 2


_ALPHABET = "abAB12 -.@(+_%é"
# Pieces where international text has edges: letters with diacritics (composed and
# decomposed), Greek (with both sigmas), Cyrillic, and the separators _ - ' .
_PIECES = [
    *_ALPHABET, "è", "e\u0301", "E\u0300", "É", "ø", "ß", "İ", "ΣΑ", "ς", "σ", "ά", "α\u0301",
    "Ж", "жи", "д", "'", "a'b", "o.e", "x_y",
]  # fmt: skip
_text = st.text(alphabet=_ALPHABET, max_size=10) | st.lists(
    st.sampled_from(_PIECES), max_size=6
).map("".join)
_customer = st.fixed_dictionaries(
    {"email": st.none() | _text, "first_name": st.none() | _text, "last_name": _text, "company_name": st.none() | _text, "phone": st.none() | _text}
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    customers=st.lists(_customer, min_size=1, max_size=8),
    queries=st.lists(_text, min_size=1, max_size=6),
)
def test_mongodb_q_equals_the_definition(service, customers, queries):
    """The MongoDB form of ``q`` returns exactly what ``app.textsearch.matches`` accepts."""
    service.delete_customers({})
    seen: set[str] = set()
    for c in customers:  # emails are unique among live guests: drop repeats
        key = (c["email"] or "").strip().lower()
        if c["email"] is not None and key in seen:
            c["email"] = None
        seen.add(key)
    service.create_customers(customers)
    records = [c.model_dump() for c in service.list_customers()]
    for q in queries:
        expected = [r["id"] for r in records if matches(q, r)]
        assert [c.id for c in service.list_customers({"q": q})] == expected, q
