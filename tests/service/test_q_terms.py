"""The ``q`` terms MongoDB searches: derived on every write path, and added to documents stored
before they existed by the start-up migration (resumable, conditional, idempotent)."""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

import pytest

from app.entities import ADDRESS, CUSTOMER, GROUP
from app.service.documents import q_terms
from app.service.migrations import Q_TERMS, _update, _write, add_q_terms


def _raw(service: Any, collection: str, doc_id: str) -> dict[str, Any]:
    return service.run(service.store.database[collection].find_one({"_id": doc_id}))


def _assert_current(service: Any, customer_id: str) -> None:
    doc = _raw(service, "customers", customer_id)
    assert doc["q_terms"] == q_terms(CUSTOMER, doc)
    for address in doc["addresses"]:
        assert address["q_terms"] == q_terms(ADDRESS, address)


def test_terms_are_derived_on_every_write_path(service: Any) -> None:
    first, second = service.create_customers(
        [
            {"first_name": "Adèle", "email": "a@x.io", "addresses": [{"city": "Zürich"}]},
            {"first_name": "Bo", "phone": "+1 555"},
        ]
    )
    doc = _raw(service, "customers", first.id)
    # the longest start of each word: 2 characters in ASCII text, 4 beyond
    assert doc["q_terms"] == {"text": ["a@x.io", "adèle"], "starts": ["a@", "adèl", "io", "x."]}
    assert doc["addresses"][0]["q_terms"]["text"] == ["zürich"]
    service.update_customers(first.id, {"last_name": "Émile"})
    service.update_customers(second.id, {"metadata": {"k": "v"}})  # no searched field changed
    address = service.create_customer_addresses({"customer_id": second.id, "city": "Köln"})
    service.update_customer_addresses(address.id, {"address_1": "Straße 1"})
    for customer in (first, second):
        _assert_current(service, customer.id)
    assert "émile" in _raw(service, "customers", first.id)["q_terms"]["text"]
    (group,) = service.create_customer_groups([{"name": "Fidèles"}])
    service.update_customer_groups(group.id, {"name": "Très fidèles"})
    stored = _raw(service, "customer_groups", group.id)
    assert stored["q_terms"] == q_terms(GROUP, stored)
    assert stored["q_terms"]["text"] == ["très fidèles"]


def test_an_update_adds_the_terms_a_document_stored_before_lacks(service: Any) -> None:
    customer = service.create_customers({"first_name": "Ann"})
    customers = service.store.customers
    service.run(customers.update_one({"_id": customer.id}, {"$unset": {"q_terms": ""}}))
    service.update_customers(customer.id, {"metadata": {"k": "v"}})
    _assert_current(service, customer.id)


def _forget_terms(service: Any) -> None:
    """Make the database look as before the terms: none stored, the migration not run."""
    database = service.store.database
    service.run(database["migrations"].delete_many({}))
    service.run(database["customers"].update_many({}, {"$unset": {"q_terms": ""}}))
    service.run(
        database["customers"].update_many(
            {"addresses.0": {"$exists": True}}, {"$unset": {"addresses.$[].q_terms": ""}}
        )
    )
    service.run(database["customer_groups"].update_many({}, {"$unset": {"q_terms": ""}}))


def test_the_migration_adds_the_terms_and_then_costs_one_read(
    service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    customers = service.create_customers(
        [
            {"first_name": f"Zoë {i}", "addresses": [{"city": "Besançon"}, {"city": "Łódź"}]}
            for i in range(5)
        ]
    )
    service.create_customer_groups([{"name": "Fidèles"}])
    _forget_terms(service)
    assert service.list_customers({"q": "zo"}) == []  # MongoDB searches the terms only
    with caplog.at_level(logging.INFO, logger="customers.migrations"):
        assert service.run(add_q_terms(service.store, batch=2)) == 6
    assert "customer 2 of about 5" in caplog.text  # progress, batch by batch
    for customer in customers:
        _assert_current(service, customer.id)
    assert len(service.list_customers({"q": "zo"})) == 5
    assert service.list_customer_groups({"q": "fi"})[0].name == "Fidèles"
    state = _raw(service, "migrations", Q_TERMS)
    assert state["done_at"] is not None
    service.run(service.store.customers.update_many({}, {"$unset": {"q_terms": ""}}))
    assert service.run(add_q_terms(service.store)) == 0  # done: nothing is read again


def test_the_migration_resumes_after_its_last_batch(service: Any) -> None:
    ids = [c.id for c in service.create_customers([{"first_name": f"n{i}"} for i in range(4)])]
    _forget_terms(service)
    migrations = service.store.database["migrations"]
    service.run(migrations.insert_one({"_id": Q_TERMS, "customer": ids[1]}))  # 2 were done
    assert service.run(add_q_terms(service.store)) == 2
    assert [("q_terms" in _raw(service, "customers", i)) for i in ids] == [
        False,
        False,
        True,
        True,
    ]


def test_a_migration_update_never_overwrites_a_newer_write(service: Any) -> None:
    customer = service.create_customers({"first_name": "Old", "addresses": [{"city": "Old"}]})
    _forget_terms(service)
    stale = _raw(service, "customers", customer.id)
    update = _update(CUSTOMER, stale)
    assert update is not None  # the customer's terms and its address's, in one update
    service.update_customers(customer.id, {"first_name": "New"})
    address_id = stale["addresses"][0]["id"]
    service.update_customer_addresses(address_id, {"city": unicodedata.normalize("NFD", "Né")})
    result = service.run(service.store.customers.bulk_write([update]))  # read before, applied after
    assert result.matched_count == 0
    _assert_current(service, customer.id)
    assert _raw(service, "customers", customer.id)["addresses"][0]["q_terms"]["text"] == ["né"]


def test_a_document_changed_since_it_was_read_is_read_again(service: Any) -> None:
    customer = service.create_customers({"first_name": "Old"})
    _forget_terms(service)
    stale = _raw(service, "customers", customer.id)
    customers = service.store.customers
    service.run(customers.update_one({"_id": customer.id}, {"$inc": {"version": 1}}))
    assert service.run(_write(CUSTOMER, customers, [stale])) == 1  # on the second attempt
    _assert_current(service, customer.id)


def test_q_on_memberships_which_nothing_searched_finds_nothing(service: Any) -> None:
    customer = service.create_customers({"first_name": "Ann"})
    (group,) = service.create_customer_groups([{"name": "Ann"}])
    service.add_customer_to_group({"customer_id": customer.id, "customer_group_id": group.id})
    assert len(service.list_customer_group_customers({})) == 1
    assert service.list_customer_group_customers({"q": "ann"}) == []
