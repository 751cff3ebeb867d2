"""``GET /admin/customers/{id}/data-export`` and ``POST /admin/customers/{id}/erase``."""

from __future__ import annotations

import logging

import pytest

from app.credentials import ApiKeys
from app.webapp import run, runtime_of
from tests.api.conftest import BOTH_PATHS


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


def add_address(client, admin, customer_id: str, **address) -> None:
    response = client.post(f"/admin/customers/{customer_id}/addresses", json=address, headers=admin)
    assert response.status_code == 200, response.json


@pytest.fixture
def read_headers(app) -> dict[str, str]:
    _, secret = run(
        ApiKeys(runtime_of(app).service.database).create("support", scope="read"), app=app
    )
    return bearer(secret)


@BOTH_PATHS
def test_the_data_export_answers_everything_and_needs_the_admin_scope(
    client, admin, make_customer, make_group, read_headers
) -> None:
    customer = make_customer(email="dx@example.com")
    add_address(client, admin, customer["id"], city="Oslo")
    group = make_group("Exported")
    linked = client.post(
        f"/admin/customer-groups/{group['id']}/customers",
        json={"add": [customer["id"]]},
        headers=admin,
    )
    assert linked.status_code == 200, linked.json
    url = f"/admin/customers/{customer['id']}/data-export"

    response = client.get(url, headers=admin)

    assert response.status_code == 200, response.json
    body = response.json
    assert body["customer"]["email"] == "dx@example.com"
    assert body["customer"]["merged_into"] is None and "provenance" in body["customer"]
    assert [a["city"] for a in body["addresses"]] == ["Oslo"]
    assert [g["customer_group_name"] for g in body["groups"]] == ["Exported"]
    refused = client.get(url, headers=read_headers)
    assert refused.status_code == 403 and refused.json["type"] == "not_allowed"
    missing = client.get("/admin/customers/cus_missing/data-export", headers=admin)
    assert missing.status_code == 404
    assert missing.json == {
        "type": "not_found",
        "message": "Customer with id: cus_missing not found",
    }


def test_erase_is_gone_from_lists_at_once_and_idempotent(client, admin, make_customer) -> None:
    customer = make_customer(email="quillon.erase@example.com", first_name="Quillon")
    kept = make_customer(email="quillon.keep@example.com", first_name="Quillon")
    listed = client.get("/admin/customers?q=quillon", headers=admin)
    assert listed.json["count"] == 2  # served by the search index

    response = client.post(f"/admin/customers/{customer['id']}/erase", headers=admin)

    assert response.status_code == 200, response.json
    receipt = response.json
    assert receipt["id"] == customer["id"] and receipt["object"] == "customer_erasure"
    assert receipt["erased"] == [customer["id"]] and receipt["merged"] == []
    assert receipt["search_index"] == "removed" and receipt["by"].startswith("apk_")
    assert "quillon" not in str(receipt).lower()
    listed = client.get("/admin/customers?q=quillon", headers=admin)
    assert listed.json["count"] == 1 and [c["id"] for c in listed.json["customers"]] == [kept["id"]]
    searched = client.get("/admin/customers/search?q=quillon.erase", headers=admin)
    assert customer["id"] not in [h["customer"]["id"] for h in searched.json["hits"]]
    assert client.get(f"/admin/customers/{customer['id']}", headers=admin).status_code == 404
    gone = client.get(f"/admin/customers/{customer['id']}/data-export", headers=admin)
    assert gone.status_code == 404

    again = client.post(f"/admin/customers/{customer['id']}/erase", headers=admin)
    assert again.status_code == 200
    assert again.json["erased_at"] == receipt["erased_at"] and again.json["erased"] == []
    unknown = client.post("/admin/customers/cus_never_seen/erase", headers=admin)
    assert unknown.status_code == 404 and unknown.json["type"] == "not_found"


def test_an_erased_account_can_register_again(client, admin, registered) -> None:
    customer, _ = registered("again@example.com")
    erased = client.post(f"/admin/customers/{customer['id']}/erase", headers=admin)
    assert erased.status_code == 200
    again, _ = registered("again@example.com")  # the same identity ("" token) and email
    assert again["id"] != customer["id"]


def test_a_read_key_may_not_erase(client, make_customer, read_headers) -> None:
    customer = make_customer(email="kept@example.com")
    response = client.post(f"/admin/customers/{customer['id']}/erase", headers=read_headers)
    assert response.status_code == 403


def test_the_logs_of_an_erasure_and_a_data_export_hold_no_personal_data(
    client, admin, make_customer, caplog
) -> None:
    customer = make_customer(
        email="secret.person@example.com",
        first_name="Secretfirst",
        last_name="Secretlast",
        phone="+47 555 1234",
    )
    add_address(client, admin, customer["id"], city="Secrettown", address_1="1 Hidden Road")
    # every logger at INFO (the default level), ours at DEBUG too (PyMongo's DEBUG lines
    # quote whole commands: never enable them in production)
    with caplog.at_level(logging.INFO), caplog.at_level(logging.DEBUG, logger="customers"):
        caplog.clear()  # the set-up's requests are logged too when an earlier test left INFO on
        export = client.get(f"/admin/customers/{customer['id']}/data-export", headers=admin)
        erased = client.post(f"/admin/customers/{customer['id']}/erase", headers=admin)
    assert export.status_code == 200 and erased.status_code == 200
    requests = [r for r in caplog.records if r.name == "customers.request"]
    assert [r.route for r in requests] == [
        "/admin/customers/<customer_id>/data-export",
        "/admin/customers/<customer_id>/erase",
    ]
    text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for personal in ("secret.person", "Secretfirst", "Secretlast", "555 1234", "Secrettown"):
        assert personal not in text
