"""The input contract (``app.limits``) is enforced by the service itself, for every caller.

Over a limit is ``invalid_data`` naming the field and the limit; an error never repeats more
than ~100 characters of what was sent; values stored before the limits existed stay readable
and updates that leave them alone succeed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from pymongo import MongoClient

from app.errors import QUOTE_CHARS, CustomerModuleError, InvalidData
from app.limits import (
    MAX_ADDRESSES,
    MAX_CUSTOMER_BYTES,
    MAX_EMAIL_CHARS,
    MAX_ID_CHARS,
    MAX_LIST_ITEMS,
    MAX_METADATA_BYTES,
    MAX_TEXT_CHARS,
)
from app.service.migrations import add_q_terms

MB = "x" * 1_000_000
# An error message: its fixed wording plus at most a quoted value or two.
SMALL = 3 * QUOTE_CHARS + 200


def invalid(call, *args) -> str:
    with pytest.raises(InvalidData) as info:
        call(*args)
    assert len(info.value.message) < SMALL, len(info.value.message)
    return info.value.message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"first_name": "x" * 1001}, "Field 'first_name' must be at most 1000 characters"),
        ({"company_name": MB}, "Field 'company_name' must be at most 1000 characters"),
        ({"email": "a" * 310 + "@example.com"}, "Field 'email' must be at most 320 characters"),
        ({"id": "c" * 65}, "Field 'id' must be at most 64 characters"),
        ({"addresses": [{"city": MB}]}, "Field 'addresses, 0, city' must be at most 1000"),
        ({"addresses": [{}] * 201}, "Field 'addresses' must have at most 200 items"),
        ({"metadata": {"a": 1e400}}, "Field 'metadata.a' must be a finite number"),
        ({"metadata": {"a": -1e400}}, "Field 'metadata.a' must be a finite number"),
        ({"metadata": {"a": [math.nan]}}, "Field 'metadata.a.0' must be a finite number"),
        ({"metadata": {"n": 2**63}}, "Field 'metadata.n' must be an integer within the 64-bit"),
        ({"metadata": {"a": {"b": {"c": {"d": {"e": {}}}}}}}, "nested at most 5 levels deep"),
        ({"metadata": {"k": "x" * MAX_METADATA_BYTES}}, "must be at most 65536 bytes of JSON"),
        ({MB: 1}, "Unrecognized fields: '" + "x" * (QUOTE_CHARS - 1) + "…'"),
    ],
)
def test_create_customer_limits(service, data, expected) -> None:
    assert expected in invalid(service.create_customers, data)
    assert service.list_customers() == []


def test_values_at_the_limits_are_accepted(service) -> None:
    email = "a" * (MAX_EMAIL_CHARS - len("@example.com")) + "@example.com"
    customer = service.create_customers(
        {
            "id": "c" * MAX_ID_CHARS,
            "email": email,
            "first_name": "é" * MAX_TEXT_CHARS,
            "metadata": {"big": 2**63 - 1, "small": -(2**63), "f": 1.5e308, "deep": {"a": {}}},
            "addresses": [{"city": "x" * MAX_TEXT_CHARS}] * MAX_ADDRESSES,
        }
    )
    found = service.retrieve_customer(customer.id, {"relations": ["addresses"]})
    assert found.email == email and len(found.addresses) == MAX_ADDRESSES


def test_update_limits(service) -> None:
    customer = service.create_customers({"email": "a@example.com"})
    assert "'last_name' must be at most 1000" in invalid(
        service.update_customers, customer.id, {"last_name": MB}
    )
    assert "finite" in invalid(service.update_customers, customer.id, {"metadata": {"x": math.inf}})
    group = service.create_customer_groups({"name": "g"})
    assert "'name' must be at most 1000" in invalid(
        service.update_customer_groups, group.id, {"name": MB}
    )
    assert "'name' must be at most 1000" in invalid(service.create_customer_groups, {"name": MB})
    assert service.retrieve_customer(customer.id).last_name is None


def test_metadata_merges_cannot_grow_past_the_limit(service) -> None:
    half = "x" * (MAX_METADATA_BYTES // 2)
    customer = service.create_customers({"metadata": {"a": half}})
    message = invalid(service.update_customers, customer.id, {"metadata": {"b": half}})
    assert "'metadata' must be at most 65536 bytes of JSON once merged" in message
    assert service.update_customers(customer.id, {"metadata": {"a": "", "b": half}}).metadata == {
        "b": half
    }


@pytest.mark.parametrize(
    "call",
    [
        lambda s, i: s.retrieve_customer(i),
        lambda s, i: s.retrieve_customer_group(i),
        lambda s, i: s.retrieve_customer_address(i),
        lambda s, i: s.update_customers(i, {"first_name": "x"}),
        lambda s, i: s.update_customers([i], {"first_name": "x"}),
        lambda s, i: s.soft_delete_customers([i]),
        lambda s, i: s.delete_customer_addresses(i),
        lambda s, i: s.create_customer_addresses({"customer_id": i}),
        lambda s, i: s.add_customer_to_group({"customer_id": i, "customer_group_id": "g"}),
        lambda s, i: s.add_customer_to_group({"customer_id": "c", "customer_group_id": i}),
    ],
)
def test_ids_over_64_characters_are_invalid_not_echoed(service, call) -> None:
    message = invalid(call, service, "i" * 100_000)
    assert "must be at most 64 characters" in message


def test_addresses_are_capped_when_added_to_an_existing_customer(service) -> None:
    customer = service.create_customers({"addresses": [{"city": "a"}] * (MAX_ADDRESSES - 1)})
    service.create_customer_addresses({"customer_id": customer.id, "city": "last"})
    message = invalid(service.create_customer_addresses, {"customer_id": customer.id})
    assert "Field 'addresses' must have at most 200 items" in message
    found = service.retrieve_customer(customer.id, {"relations": ["addresses"]})
    assert len(found.addresses) == MAX_ADDRESSES


def test_address_cap_holds_under_concurrent_adds(service) -> None:
    customer = service.create_customers({"addresses": [{"city": "a"}] * (MAX_ADDRESSES - 5)})
    results = service.gather(
        *(
            service.aio.create_customer_addresses({"customer_id": customer.id, "city": str(i)})
            for i in range(20)
        )
    )
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(failed) == 15 and all(isinstance(r, InvalidData) for r in failed)
    found = service.retrieve_customer(customer.id, {"relations": ["addresses"]})
    assert len(found.addresses) == MAX_ADDRESSES


def test_a_customer_document_cannot_outgrow_its_storage_limit(service) -> None:
    # Each address is within every field limit; together they would pass the 8 MiB cap.
    address = {
        "address_1": "a" * MAX_TEXT_CHARS,
        "metadata": {"k": "x" * (MAX_METADATA_BYTES - 100)},
    }
    message = invalid(service.create_customers, {"addresses": [address] * MAX_ADDRESSES})
    assert f"more than the {MAX_CUSTOMER_BYTES} a customer may take" in message
    customer = service.create_customers({"addresses": [address] * 100})
    with pytest.raises(InvalidData):
        for _ in range(100):
            service.create_customer_addresses({**address, "customer_id": customer.id})
    found = service.retrieve_customer(customer.id, {"relations": ["addresses"]})
    assert 100 < len(found.addresses) < MAX_ADDRESSES


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"email": MB}, "Field 'email' must be at most 1000 characters"),
        ({"first_name": {"$like": "%" + MB}}, "Field 'first_name' must be at most 1000"),
        ({"first_name": {"$ilike": "x" * 1001}}, "Field 'first_name' must be at most 1000"),
        ({"id": ["a"] * (MAX_LIST_ITEMS + 1)}, "Field 'id' must have at most 1000 items"),
        ({"email": {"$in": ["a"] * 1001}}, "Field 'email' must have at most 1000 items"),
        ({"email": {"$nin": ["a", MB]}}, "Field 'email' must be at most 1000 characters"),
        ({"$or": [{"email": "a"}] * 1001}, "Field '$or' must have at most 1000 items"),
        ({"groups": ["g"] * 1001}, "Field 'groups' must have at most 1000 items"),
        ({"created_at": {"$gt": MB}}, "'created_at' must be at most 1000 characters"),
        ({"created_at": {"$gt": "y" * 500}}, "expects a date, got '" + "y" * 99 + "…'"),
        ({MB: "x"}, "unknown field '" + "x" * 99 + "…'"),
        ({"email": {MB: "x"}}, "unknown operator '" + "x" * 99 + "…'"),
    ],
)
def test_filter_operands_are_bounded(service, filters, expected) -> None:
    assert expected in invalid(service.list_customers, filters)


def test_nested_boolean_filters_are_bounded(service) -> None:
    filters: dict = {"email": "a@example.com"}
    for _ in range(40):
        filters = {"$and": [filters]}
    assert "nested at most 32 levels" in invalid(service.list_customers, filters)


def test_order_and_config_errors_quote_little(service) -> None:
    assert invalid(service.list_customers, None, {"order": {MB: "ASC"}}).startswith("Order field ")
    invalid(service.list_customers, None, {"order": {"email": MB}})
    invalid(service.list_customers, None, {MB: 1})
    invalid(service.list_customers, None, {"relations": [MB]})


def test_duplicate_messages_quote_little(service) -> None:
    email = "a" * 300 + "@example.com"
    service.create_customers({"email": email})
    assert "already exists" in invalid(service.create_customers, {"email": email})
    service.create_customer_groups({"name": "n" * 1000})
    assert "already exists" in invalid(service.create_customer_groups, {"name": "n" * 1000})
    service.create_customer_groups({"id": "g" * 64, "name": "other"})
    assert "already exists" in invalid(
        service.create_customer_groups, {"id": "g" * 64, "name": "x"}
    )


def test_values_stored_over_the_limits_stay_readable_and_updatable(
    service, mongodb_uri, database_name
) -> None:
    now = datetime.now(UTC)
    address = {
        "id": "cuaddr_old",
        "customer_id": "cus_old",
        "city": MB,
        "metadata": {"blob": "m" * (2 * MAX_METADATA_BYTES)},
        "is_default_shipping": False,
        "is_default_billing": False,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }
    with MongoClient(mongodb_uri) as client:
        client[database_name]["customers"].insert_one(
            {
                "_id": "cus_old",
                "email": "e" * 2000 + "@example.com",
                "first_name": MB,
                "has_account": False,
                "metadata": {"blob": "m" * (2 * MAX_METADATA_BYTES)},
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
                "version": 1,
                "addresses": [address]
                + [
                    {**address, "id": f"cuaddr_{i}", "city": "c", "metadata": None}
                    for i in range(250)
                ],
                "groups": [],
            }
        )
        # Larger than a customer may now grow, though within MongoDB's 16 MiB.
        client[database_name]["customers"].insert_one(
            {"_id": "cus_huge", "first_name": "h" * (MAX_CUSTOMER_BYTES + 1), "last_name": "Large",
             "version": 1, "deleted_at": None, "addresses": [], "groups": [], "created_at": now,
             "updated_at": now}
        )  # fmt: skip
    # Stored before the q terms existed: a start after the upgrade migrates them.
    service.run(service.store.database["migrations"].delete_many({}))
    service.run(add_q_terms(service.store))
    found = service.retrieve_customer("cus_old", {"relations": ["addresses"]})
    assert found.first_name == MB and len(found.addresses) == 251
    assert service.list_customers({"id": "cus_old"})[0].first_name == MB
    updated = service.update_customers("cus_old", {"last_name": "New", "metadata": {"blob": ""}})
    assert updated.first_name == MB and updated.last_name == "New" and updated.metadata == {}
    address_out = service.update_customer_addresses("cuaddr_old", {"address_1": "1 Main St"})
    assert address_out.city == MB and address_out.address_1 == "1 Main St"
    assert service.retrieve_customer_address("cuaddr_old").city == MB
    with pytest.raises(CustomerModuleError, match="at most 200 items"):
        service.create_customer_addresses({"customer_id": "cus_old"})
    # A document over the size cap may still change, as long as it does not grow.
    assert service.update_customers("cus_huge", {"last_name": "Small"}).last_name == "Small"
    with pytest.raises(CustomerModuleError, match="a customer may take"):
        service.update_customers("cus_huge", {"last_name": "L" * 1000})
