"""qs-style query strings → nested filters (what @medusajs/js-sdk and hand-written clients send)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from app.api.querystring import MAX_DEPTH, parse_pairs
from app.errors import InvalidData


def parse(query: str) -> dict:
    return parse_pairs(parse_qsl(query, keep_blank_values=True))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("groups[0]=a&groups[1]=b", {"groups": ["a", "b"]}),
        ("groups[1]=b&groups[0]=a", {"groups": ["a", "b"]}),
        ("groups[]=a", {"groups": ["a"]}),
        ("groups[]=a&groups[]=b", {"groups": ["a", "b"]}),
        ("groups[]=a,b", {"groups": ["a", "b"]}),
        ("groups=a", {"groups": "a"}),
        ("groups=a&groups=b", {"groups": ["a", "b"]}),
        ("groups=a&groups[]=b", {"groups": ["a", "b"]}),
        ("groups[id][0]=x&groups[id][1]=y", {"groups": {"id": ["x", "y"]}}),
        ("groups.id=x", {"groups": {"id": "x"}}),
        ("created_at[$gt]=2024-01-01", {"created_at": {"$gt": "2024-01-01"}}),
        ("$or[0][email]=a&$or[1][first_name]=b", {"$or": [{"email": "a"}, {"first_name": "b"}]}),
        ("$and[0][groups][id][0]=g", {"$and": [{"groups": {"id": ["g"]}}]}),
        ("has_account=true&with_deleted=false", {"has_account": "true", "with_deleted": "false"}),
        ("q=", {"q": ""}),
        ("q=john%20doe", {"q": "john doe"}),
        ("fields=%2Bmetadata,-phone", {"fields": "+metadata,-phone"}),
        ("", {}),
    ],
)
def test_qs_formats_become_nested_values(query: str, expected: dict) -> None:
    assert parse(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "a=1&a[b]=2",  # scalar and object at once
        "a[b]=1&a[0]=2",  # object and array at once
        "a[5000]=x",  # index too large to allocate
        "a.b.c=1",  # Medusa: "Key accessor more than 2 levels deep"
        "a" + "[x]" * (MAX_DEPTH + 1) + "=1",
    ],
)
def test_unparseable_query_strings_are_invalid_data(query: str) -> None:
    with pytest.raises(InvalidData) as caught:
        parse(query)
    assert caught.value.message.startswith("Invalid request: ")


def test_too_many_parameters_are_rejected() -> None:
    with pytest.raises(InvalidData):
        parse_pairs([("a", "1")] * 1001)
