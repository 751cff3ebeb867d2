"""List pages built from the response documents the index stores equal MongoDB's, byte for byte.

The service with the index attached (its in-process indexer running) builds a page from the
stored documents, without reading MongoDB; the baseline is the same service with the index
detached (MongoDB hydrates the page). Both pages' JSON must be the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.service import queries
from tests.indexers.test_served import Served, served  # noqa: F401 (fixture)

VARIED: list[dict[str, Any]] = [
    {"email": "ann@example.com", "first_name": "Ann", "last_name": "Doe", "phone": "+1 555 0100"},
    {"first_name": None, "last_name": None, "email": None, "company_name": None, "phone": None},
    {
        "email": "zoë@exämple.de",
        "first_name": "Zoë 🦊",
        "last_name": "Ĉeĥoslovakio\u0301",  # a combining accent, kept as sent
        "company_name": 'Ωmega Ltd. <b>&amp;</b> "quoted" \\ back\\slash',
        "has_account": True,
        "created_by": "user_01",
        "metadata": {
            "tier": "gold",
            "score": 4.25,
            "big": 2**53 + 1,
            "tiny": 1e-12,
            "huge": 1.5e300,
            "none": None,
            "flag": False,
            "list": [1, "two", None, {"deep": ["ü", 3.0]}],
            "empty": {},
            "ключ": "значение",
        },
    },
    {"first_name": "Line\nbreak\ttab", "metadata": {"a": {"b": {"c": {"d": "e"}}}}},
    {"email": "deleted@example.com", "first_name": "Gone", "metadata": {}},
    {"email": "updated@example.com", "first_name": "Before"},
]


@pytest.fixture
def varied(served: Served) -> list[Any]:  # noqa: F811
    s = served.service
    made = s.create_customers(VARIED)
    s.update_customers(made[5].id, {"first_name": "After", "metadata": {"k": "v"}})
    s.soft_delete_customers([made[4].id])
    group = s.create_customer_groups({"name": "Listed"})
    s.add_customer_to_group({"customer_id": made[2].id, "customer_group_id": group.id})
    s.create_customer_addresses({"customer_id": made[0].id, "city": "Paris"})
    # a document written around the service: fields missing, a naive-looking old document
    s.run(
        s.aio.database.customers.insert_one(
            {
                "_id": "cus_raw",
                "email": "raw@example.com",
                "created_at": datetime(2020, 2, 29, 23, 59, 59, 999000, tzinfo=UTC),
            }
        )
    )
    assert s.run(served.indexer.wait_until_applied(timeout=30))
    return made


def _json(page: tuple[list[Any], int]) -> tuple[list[bytes], int]:
    return [c.model_dump_json().encode() for c in page[0]], page[1]


@pytest.mark.parametrize(
    ("filters", "config"),
    [
        ({}, {}),
        ({}, {"with_deleted": True}),
        ({}, {"with_deleted": True, "order": {"updated_at": "DESC"}, "skip": 1, "take": 3}),
        ({"q": "ωmega"}, {}),
        ({"has_account": True}, {}),
    ],
)
def test_pages_from_the_index_are_the_bytes_mongodb_hydration_gives(
    served: Served,  # noqa: F811
    varied: list[Any],
    filters: dict[str, Any],
    config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = _json(served.baseline("list_and_count_customers", filters, config))
    assert expected[1] > 0

    async def no_mongodb(*args: Any) -> Any:
        raise AssertionError("a page the index holds was read from MongoDB")

    monkeypatch.setattr(queries, "load_customers", no_mongodb)
    before = served.pages
    got = _json(served.service.list_and_count_customers(filters, config))
    assert served.pages > before, "the index did not serve this list"
    assert got == expected


def test_relations_or_select_beyond_the_stored_document_are_hydrated(
    served: Served,  # noqa: F811
    varied: list[Any],
) -> None:
    s = served.service
    for config in ({"relations": ["groups", "addresses"]}, {"select": ["id", "email"]}):
        before = served.pages
        got = s.list_and_count_customers({}, config)
        assert served.pages > before  # (twice when a write landed during the read)
        expected = served.baseline("list_and_count_customers", {}, config)
        assert _json(got) == _json(expected)
    with_groups = s.list_customers({"id": varied[2].id}, {"relations": ["groups"]})
    assert [g.name for g in with_groups[0].groups] == ["Listed"]


def test_a_raw_bson_document_gives_the_same_response_document() -> None:
    """The reindex reads ``RawBSONDocument``s (sub-documents too): the same bytes."""
    import bson
    from bson.codec_options import CodecOptions
    from bson.raw_bson import RawBSONDocument

    from indexers.listed import listed_document

    doc = {
        "_id": "cus_1",
        "email": "a@example.com",
        "metadata": {"a": {"b": [1, {"c": "é"}, None]}, "d": 2.5},
        "created_at": datetime(2024, 1, 1, 12, 0, 0, 5000, tzinfo=UTC),
    }
    options = CodecOptions(document_class=RawBSONDocument, tz_aware=True, tzinfo=UTC)
    raw = RawBSONDocument(bson.encode(doc), options)
    assert listed_document(raw) is not None
    assert listed_document(raw) == listed_document(doc)
