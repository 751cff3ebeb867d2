"""Entity tags and ``if_match`` in the service: what changes a tag, and conditional writes
that are atomic with the write (racing writers holding one tag: exactly one wins)."""

from __future__ import annotations

import pytest

from app.entities import ADDRESS, CUSTOMER, GROUP
from app.errors import CustomerModuleError, InvalidData, PreconditionFailed
from app.service.etags import etag_of

RACERS = 12


def tag(service, customer_id: str) -> str:
    return etag_of(CUSTOMER, service.retrieve_customer(customer_id))


def address_tag(service, address_id: str) -> str:
    return etag_of(ADDRESS, service.retrieve_customer_address(address_id))


def test_a_customer_tag_follows_its_own_fields_only(service) -> None:
    customer = service.create_customers(
        {"email": "t@example.com", "metadata": {"b": [1, 2.5], "a": {"x": None}}}
    )
    first = tag(service, customer.id)
    assert etag_of(CUSTOMER, customer) == first  # a write's result and a read agree
    group = service.create_customer_groups({"name": "G"})
    address = service.create_customer_addresses({"customer_id": customer.id, "city": "Lyon"})
    service.update_customer_addresses(address.id, {"city": "Nice", "is_default_billing": True})
    service.add_customer_to_group({"customer_id": customer.id, "customer_group_id": group.id})
    service.remove_customer_from_group({"customer_id": customer.id, "customer_group_id": group.id})
    service.delete_customer_addresses([address.id])
    assert tag(service, customer.id) == first
    updated = service.update_customers(customer.id, {"first_name": "Tess"})
    assert etag_of(CUSTOMER, updated) == tag(service, customer.id) != first


def test_an_address_tag_follows_that_address_only(service) -> None:
    customer = service.create_customers({"email": "a@example.com"})
    home, work = service.create_customer_addresses(
        [{"customer_id": customer.id, "city": "Home"}, {"customer_id": customer.id, "city": "Work"}]
    )
    home_tag = address_tag(service, home.id)
    assert etag_of(ADDRESS, home) == home_tag
    service.update_customer_addresses(work.id, {"city": "Office"})
    service.update_customers(customer.id, {"last_name": "Doe"})
    assert address_tag(service, home.id) == home_tag
    changed = service.update_customer_addresses(home.id, {"city": "House"})
    assert etag_of(ADDRESS, changed) == address_tag(service, home.id) != home_tag


def test_conditional_writes_need_the_current_tag(service) -> None:
    customer = service.create_customers({"email": "c@example.com", "first_name": "Ann"})
    current = tag(service, customer.id)
    with pytest.raises(PreconditionFailed) as info:
        service.update_customers(customer.id, {"first_name": "Bob"}, if_match="stale")
    assert info.value.type == "precondition_failed"
    assert info.value.message == (
        f"Customer with id: {customer.id} was changed since it was read "
        "(If-Match does not match its ETag); read it again and retry"
    )
    with pytest.raises(PreconditionFailed):
        service.soft_delete_customers(customer.id, if_match=())  # no tag given: nothing matches
    assert service.retrieve_customer(customer.id).first_name == "Ann"  # nothing written
    done = service.update_customers(customer.id, {"first_name": "Bob"}, if_match=("x", current))
    service.soft_delete_customers([customer.id], if_match=etag_of(CUSTOMER, done))
    with pytest.raises(CustomerModuleError, match="not found"):
        service.retrieve_customer(customer.id)


def test_conditional_address_and_group_writes(service) -> None:
    customer = service.create_customers({"email": "g@example.com"})
    address = service.create_customer_addresses({"customer_id": customer.id, "city": "Lyon"})
    with pytest.raises(PreconditionFailed, match="Customer address with id: "):
        service.update_customer_addresses(address.id, {"city": "Nice"}, if_match="stale")
    with pytest.raises(PreconditionFailed):
        service.delete_customer_addresses(address.id, if_match="stale")
    assert service.retrieve_customer_address(address.id).city == "Lyon"
    service.delete_customer_addresses(address.id, if_match=etag_of(ADDRESS, address))
    assert service.list_customer_addresses({"id": address.id}) == []

    group = service.create_customer_groups({"name": "VIP"})
    with pytest.raises(PreconditionFailed, match="Customer group with id: "):
        service.update_customer_groups(group.id, {"name": "V"}, if_match="stale")
    with pytest.raises(PreconditionFailed):
        service.soft_delete_customer_groups(group.id, if_match="stale")
    renamed = service.update_customer_groups(
        group.id, {"name": "V"}, if_match=etag_of(GROUP, group)
    )
    assert renamed.name == "V"
    service.soft_delete_customer_groups([group.id], if_match=etag_of(GROUP, renamed))
    assert service.list_customer_groups({"id": group.id}) == []


def test_a_tag_names_one_entity(service) -> None:
    a, b = service.create_customers([{"email": "1@x.io"}, {"email": "2@x.io"}])
    for call, selector in (
        (service.update_customers, [a.id, b.id]),
        (service.update_customers, {"email": "1@x.io"}),
        (service.update_customer_groups, [a.id, b.id]),
        (service.update_customer_addresses, {"city": "x"}),
    ):
        with pytest.raises(InvalidData, match="if_match needs a single"):
            call(selector, {}, if_match=tag(service, a.id))
    with pytest.raises(InvalidData, match="if_match needs a single customer id"):
        service.soft_delete_customers([a.id, b.id], if_match="x")


def test_racing_writers_with_one_tag_exactly_one_wins(service) -> None:
    customer = service.create_customers({"email": "race@example.com"})
    address = service.create_customer_addresses({"customer_id": customer.id, "city": "Start"})
    group = service.create_customer_groups({"name": "Race"})
    races = [
        (
            lambda i, t: service.aio.update_customers(
                customer.id, {"company_name": f"c{i}"}, if_match=t
            ),
            etag_of(CUSTOMER, customer),
        ),
        (
            lambda i, t: service.aio.update_customer_addresses(
                address.id, {"city": f"a{i}"}, if_match=t
            ),
            etag_of(ADDRESS, address),
        ),
        (
            lambda i, t: service.aio.update_customer_groups(
                group.id, {"name": f"g{i}"}, if_match=t
            ),
            etag_of(GROUP, group),
        ),
    ]
    for write, current in races:
        results = service.gather(*(write(i, current) for i in range(RACERS)))
        winners = [r for r in results if not isinstance(r, Exception)]
        losers = [r for r in results if isinstance(r, PreconditionFailed)]
        assert len(winners) == 1 and len(losers) == RACERS - 1, results
    assert service.retrieve_customer(customer.id).company_name.startswith("c")
