"""Addresses: creation, defaults (newest wins, atomically), updates, deletes, lists."""

from __future__ import annotations

import pytest

from app.errors import CustomerModuleError


def error_of(call, *args):
    with pytest.raises(CustomerModuleError) as info:
        call(*args)
    return info.value


def defaults(service, customer_id, flag="is_default_shipping"):
    return [
        a.id
        for a in service.list_customer_addresses({"customer_id": customer_id})
        if getattr(a, flag)
    ]


def test_create_one_and_many(service):
    c = service.create_customers({"email": "a@x.com"})
    one = service.create_customer_addresses(
        {"customer_id": c.id, "city": "Paris", "address_name": "Home"}
    )
    many = service.create_customer_addresses(
        [{"customer_id": c.id, "city": "Rome"}, {"customer_id": c.id}]
    )
    assert one.id.startswith("cuaddr_") and one.customer_id == c.id and one.address_name == "Home"
    assert [a.city for a in many] == ["Rome", None]
    assert service.retrieve_customer_address(one.id).city == "Paris"
    assert service.list_and_count_customer_addresses({"customer_id": c.id})[1] == 3


def test_unknown_customer_is_the_relationship_error(service):
    err = error_of(service.create_customer_addresses, {"customer_id": "cus_nope", "city": "X"})
    assert (err.type, err.message) == (
        "not_found",
        "You tried to set relationship customer_id: cus_nope, but such entity does not exist",
    )
    err = error_of(service.create_customer_addresses, {"city": "X"})
    assert err.message == "Invalid request: Field 'customer_id' is required"


def test_a_new_default_replaces_the_old_one(service):
    c = service.create_customers(
        {"addresses": [{"is_default_shipping": True, "is_default_billing": True}]}
    )
    old = c.addresses[0].id
    new = service.create_customer_addresses({"customer_id": c.id, "is_default_shipping": True})
    assert defaults(service, c.id) == [new.id]
    assert defaults(service, c.id, "is_default_billing") == [old]
    third = service.create_customer_addresses({"customer_id": c.id})
    service.update_customer_addresses(third.id, {"is_default_billing": True})
    assert defaults(service, c.id, "is_default_billing") == [third.id]
    assert defaults(service, c.id) == [new.id]


def test_two_defaults_of_one_kind_in_one_call_are_refused(service):
    c = service.create_customers({})
    err = error_of(
        service.create_customer_addresses,
        [
            {"customer_id": c.id, "is_default_billing": True},
            {"customer_id": c.id, "is_default_billing": True},
        ],
    )
    assert err.message == f"Customer address with customer_id: {c.id}, already exists."
    assert service.list_customer_addresses({"customer_id": c.id}) == []
    a, b = service.create_customer_addresses([{"customer_id": c.id}, {"customer_id": c.id}])
    err = error_of(service.update_customer_addresses, [a.id, b.id], {"is_default_shipping": True})
    assert err.type == "invalid_data"


def test_defaults_of_different_customers_in_one_call(service):
    c1, c2 = service.create_customers([{}, {}])
    service.create_customer_addresses(
        [
            {"customer_id": c1.id, "is_default_shipping": True},
            {"customer_id": c2.id, "is_default_shipping": True},
        ]
    )
    assert len(defaults(service, c1.id)) == 1 and len(defaults(service, c2.id)) == 1


def test_concurrent_set_default_leaves_exactly_one(service):
    c = service.create_customers({"addresses": [{"city": str(i)} for i in range(20)]})
    ids = [a.id for a in c.addresses]
    results = service.gather(
        *(service.aio.update_customer_addresses(i, {"is_default_shipping": True}) for i in ids)
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert len(defaults(service, c.id)) == 1


def test_concurrent_address_creates_lose_nothing(service):
    c = service.create_customers({})
    service.gather(
        *(
            service.aio.create_customer_addresses({"customer_id": c.id, "city": str(i)})
            for i in range(15)
        )
    )
    assert service.list_and_count_customer_addresses({"customer_id": c.id})[1] == 15


def test_update_by_id_list_and_selector_and_missing(service):
    c = service.create_customers({"addresses": [{"city": "A"}, {"city": "B"}, {"city": "B"}]})
    a, b1, b2 = (x.id for x in c.addresses)
    assert service.update_customer_addresses(a, {"postal_code": "1"}).postal_code == "1"
    assert [x.id for x in service.update_customer_addresses({"city": "B"}, {"province": "P"})] == [
        b1,
        b2,
    ]
    assert service.update_customer_addresses({"city": "Z"}, {"province": "P"}) == []
    err = error_of(service.update_customer_addresses, [a, "cuaddr_nope"], {"city": "Q"})
    assert err.message == 'CustomerAddress with id "cuaddr_nope" not found'
    assert service.retrieve_customer_address(a).city == "A"
    merged = service.update_customer_addresses(a, {"metadata": {"k": "v"}})
    assert service.update_customer_addresses(a, {"metadata": {"j": 1}}).metadata == {
        "k": "v",
        "j": 1,
    }
    assert merged.metadata == {"k": "v"}


def test_retrieve_errors(service):
    err = error_of(service.retrieve_customer_address, "cuaddr_nope")
    assert err.message == "CustomerAddress with id: cuaddr_nope was not found"


def test_q_on_addresses(service):
    c = service.create_customers(
        {
            "addresses": [
                {"address_1": "Huntingdon 123"},
                {"address_1": "Hawkins 12"},
                {"address_1": "Horseshoe 555"},
            ]
        }
    )
    found = service.list_customer_addresses({"customer_id": c.id, "q": "12"})
    assert [a.address_1 for a in found] == ["Huntingdon 123", "Hawkins 12"]
    assert service.list_customer_addresses({"q": "horse"})[0].address_1 == "Horseshoe 555"


def test_soft_delete_restore_and_hard_delete(service):
    c = service.create_customers({"addresses": [{"is_default_shipping": True}, {}]})
    first, second = (a.id for a in c.addresses)
    service.soft_delete_customer_addresses([first])
    assert [a.id for a in service.list_customer_addresses({"customer_id": c.id})] == [second]
    assert service.retrieve_customer_address(first, {"with_deleted": True}).deleted_at is not None
    service.update_customer_addresses(second, {"is_default_shipping": True})
    service.restore_customer_addresses([first])
    assert defaults(service, c.id) == [second]  # the restored default yields to the live one
    service.delete_customer_addresses(first)
    assert (
        error_of(service.retrieve_customer_address, first, {"with_deleted": True}).type
        == "not_found"
    )
    assert service.list_and_count_customer_addresses({"customer_id": c.id})[1] == 1


def test_list_filters_order_and_pages(service):
    c = service.create_customers(
        {
            "addresses": [
                {"city": f"c{i}", "country_code": "fr" if i % 2 else "it"} for i in range(6)
            ]
        }
    )
    page, count = service.list_and_count_customer_addresses(
        {"country_code": "fr"}, {"take": 2, "skip": 1}
    )
    assert count == 3 and [a.city for a in page] == ["c3", "c5"]
    desc = service.list_customer_addresses(
        {"customer_id": c.id}, {"order": {"city": "DESC"}, "take": 1}
    )
    assert desc[0].city == "c5"
    with pytest.raises(CustomerModuleError):
        service.list_customer_addresses({"street": "x"})


def test_customer_relation_on_addresses(service):
    c = service.create_customers({"email": "a@x.com", "addresses": [{"city": "X"}]})
    address = service.retrieve_customer_address(c.addresses[0].id, {"relations": ["customer"]})
    assert address.customer.email == "a@x.com"
    listed = service.list_customer_addresses({"customer_id": c.id}, {"relations": ["customer"]})
    assert listed[0].customer.id == c.id
    assert "customer" not in service.retrieve_customer_address(c.addresses[0].id).model_dump()
