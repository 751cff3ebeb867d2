"""Filters compiled once: the checked tree, and its MongoDB spelling (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.entities import ADDRESS, CUSTOMER, GROUP, MEMBERSHIP, Op
from app.errors import InvalidData
from app.filtering import And, Compare, Or, Related, Text, compile_filters, has_text
from app.service.mongo_filters import to_mongo

WHEN = datetime(2024, 1, 2, tzinfo=UTC)


def test_values_are_checked_and_normalised_once() -> None:
    where = compile_filters(
        {"email": " ANN@X.com ", "created_at": {"$gte": "2024-01-02"}, "q": "ann  doe"}, CUSTOMER
    )
    assert where == And(
        (
            Compare("email", Op.EQ, "ann@x.com"),
            Compare("created_at", Op.GTE, WHEN),
            Text(("ann", "doe")),
        )
    )


def test_shapes_of_a_filter() -> None:
    where = compile_filters(
        {"id": ["a", "b"], "$or": [{"first_name": {"$ne": "x", "$like": "j%"}}, {}]}, CUSTOMER
    )
    first = And((Compare("first_name", Op.NE, "x"), Compare("first_name", Op.LIKE, "j%")))
    assert where == And((Compare("id", Op.IN, ("a", "b")), Or((And((first,)), And()))))
    assert compile_filters(None, CUSTOMER) == compile_filters({"$and": []}, CUSTOMER) == And()


def test_relations_compile_against_the_related_entity() -> None:
    groups = compile_filters({"groups": "g1"}, CUSTOMER).parts[0]
    assert groups == Related("groups", Compare("id", Op.IN, ("g1",)))
    named = compile_filters({"groups": {"name": "VIP"}}, CUSTOMER).parts[0]
    assert named == Related("groups", And((Compare("name", Op.EQ, "VIP"),)))
    with pytest.raises(InvalidData, match="'customers' is not filterable here"):
        compile_filters({"groups": {"customers": "c1"}}, CUSTOMER)
    with pytest.raises(InvalidData, match="unknown field 'groups' on customer_address"):
        compile_filters({"groups": "g1"}, ADDRESS)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"metadata": {"a": 1}}, "unknown field 'metadata' on customer"),
        ({"email": {"$where": "1"}}, "unknown operator '$where' on 'email'"),
        ({"created_at": {"$like": "2024%"}}, "'created_at' $like expects a string pattern"),
        ({"has_account": "yes"}, "'has_account' expects a boolean, got str"),
        ({"created_at": "soon"}, "'created_at' expects a date, got 'soon'"),
        ({"q": 5}, "'q' expects a string"),
    ],
)
def test_invalid_filters_are_refused_with_medusa_wording(filters: dict, message: str) -> None:
    with pytest.raises(InvalidData, match="Invalid filter: ") as info:
        compile_filters(filters, CUSTOMER)
    assert message in info.value.message


def test_blank_q_counts_as_a_search_but_adds_no_condition() -> None:
    where = compile_filters({"q": "  "}, GROUP)
    assert has_text(where) and not has_text(compile_filters({"q": ""}, GROUP))
    assert to_mongo(where, GROUP) == {}
    assert has_text(compile_filters({"$or": [{"q": "x"}]}, GROUP))


def test_mongodb_spelling() -> None:
    where = compile_filters(
        {"email": "a@x.com", "$and": [{"email": {"$ne": "b@x.com"}}], "id": ["c1"]}, CUSTOMER
    )
    assert to_mongo(where, CUSTOMER) == {
        "email": "a@x.com",
        "$and": [{"email": {"$ne": "b@x.com"}}],
        "_id": {"$in": ["c1"]},
    }
    assert to_mongo(compile_filters({"id": "m1"}, MEMBERSHIP), MEMBERSHIP) == {"id": "m1"}
    text = to_mongo(compile_filters({"q": "55"}, CUSTOMER), CUSTOMER)
    assert {"phone": {"$regex": "^(?:[\\s\\S]{0,997}[^0-9])?55"}} in text["$or"]
    assert to_mongo(compile_filters({"q": "555"}, CUSTOMER), CUSTOMER)["$or"][-1] == {
        "phone_digits": {"$regex": "^[\\s\\S]{0,997}555"}
    }


def test_relations_must_be_resolved_before_mongodb() -> None:
    where = compile_filters({"groups": "g1"}, CUSTOMER)
    with pytest.raises(ValueError, match="not resolved"):
        to_mongo(where, CUSTOMER)
    related = where.parts[0]
    assert isinstance(related, Related)
    assert to_mongo(And((related.resolved(("g1",)),)), CUSTOMER) == {
        "groups.customer_group_id": {"$in": ["g1"]}
    }
