"""Request models report Medusa's validation messages."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from app.api import schemas as s
from app.api.parsing import invalid_request
from app.limits import MAX_METADATA_BYTES


def message(model: type[BaseModel], data: dict, *, strict: bool = True) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data, strict=strict)
    return invalid_request(caught.value).message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"a": 1, "b": 2}, "Invalid request: Unrecognized fields: 'a, b'"),
        (
            {"first_name": 1},
            "Invalid request: Expected type: 'string' for field 'first_name', got: 'number'",
        ),
        ({"email": "not-an-email"}, "Invalid request: Invalid email"),
        ({"email": "a@localhost"}, "Invalid request: Invalid email"),
        ({"has_account": True}, "Invalid request: Unrecognized fields: 'has_account'"),
        (
            {"metadata": []},
            "Invalid request: Expected type: 'object' for field 'metadata', got: 'array'",
        ),
        (
            {"first_name": 1, "last_name": True, "phone": [], "company_name": {}},
            "Invalid request: Expected type: 'string' for field 'company_name', got: 'object'; "
            "Expected type: 'string' for field 'first_name', got: 'number'; "
            "Expected type: 'string' for field 'last_name', got: 'boolean'",
        ),
    ],
)
def test_customer_body_messages(data: dict, expected: str) -> None:
    assert message(s.AdminCustomerBody, data) == expected


def test_required_field_message() -> None:
    assert message(s.AdminGroupCreateBody, {}) == "Invalid request: Field 'name' is required"


def test_valid_emails_pass() -> None:
    for email in ("a@b.co", "first.last+tag@sub.example.com", "O'Neil@x.io"):
        assert s.AdminCustomerBody.model_validate({"email": email}, strict=True).email == email


def test_booleans_are_strict_in_bodies() -> None:
    assert message(s.StoreAddressBody, {"is_default_billing": "true"}) == (
        "Invalid request: Expected type: 'boolean' for field 'is_default_billing', got: 'string'"
    )


def test_metadata_limits() -> None:
    deep = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    assert message(s.AdminCustomerBody, {"metadata": deep}) == (
        "Invalid request: Field 'metadata' must be nested at most 5 levels deep"
    )
    big = {"k": "x" * (MAX_METADATA_BYTES + 1)}
    assert message(s.AdminCustomerBody, {"metadata": big}) == (
        "Invalid request: Field 'metadata' must be at most 65536 bytes of JSON"
    )
    ok = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    assert s.AdminCustomerBody.model_validate({"metadata": ok}, strict=True).metadata == ok


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"limit": "1001"}, "Value for field 'limit' too big, expected at most: '1000'"),
        ({"limit": "x"}, "Expected type: 'number' for field 'limit', got: 'string'"),
        ({"offset": "-1"}, "Value for field 'offset' too small, expected at least: '0'"),
        ({"has_account": "yes"}, "Invalid input"),
        ({"email": {"$where": "1"}}, "Unrecognized fields: '$where'"),
        ({"created_at": "2024"}, "Expected type: 'object' for field 'created_at', got: 'string'"),
        ({"created_at": {"$gt": "x"}}, "Expected type: 'date' for field 'created_at, $gt'"),
        ({"groups": {"nope": "x"}}, "Unrecognized fields: 'nope'"),
        ({"$or": [{"bad": "x"}]}, "Unrecognized fields: 'bad'"),
    ],
)
def test_customer_list_query_messages(data: dict, expected: str) -> None:
    assert expected in message(s.AdminCustomerListQuery, data, strict=False)


def test_list_query_defaults_and_booleans() -> None:
    query = s.AdminCustomerListQuery.model_validate({"has_account": "TRUE"})
    assert (query.limit, query.offset, query.with_deleted, query.has_account) == (
        50,
        0,
        False,
        True,
    )


def test_messages_quote_at_most_100_characters_of_the_input() -> None:
    from typing import Literal

    from pydantic import ConfigDict

    class Choice(BaseModel):
        model_config = ConfigDict(extra="forbid")
        kind: Literal["a", "b"]

    huge = "z" * 1_000_000
    literal = message(Choice, {"kind": huge})
    assert literal == f"Invalid request: Expected: 'a, b' for field 'kind', but got: '{'z' * 99}…'"
    unknown = message(Choice, {"kind": "a", huge: 1, "other": 2})
    assert unknown == f"Invalid request: Unrecognized fields: '{'z' * 99}…'"
    nested = message(s.AdminCustomerListQuery, {"$or": [{huge: "x"}]}, strict=False)
    assert len(nested) < 300
