"""/admin/customers/{id}/addresses."""

from __future__ import annotations

ADMIN_ADDRESS_KEYS = {
    "id", "company", "customer_id", "first_name", "last_name", "address_1", "address_2", "city",
    "province", "postal_code", "country_code", "phone", "metadata", "created_at", "updated_at",
}  # fmt: skip


def add(client, admin, customer_id, **body):
    response = client.post(
        f"/admin/customers/{customer_id}/addresses?fields=*addresses", json=body, headers=admin
    )
    assert response.status_code == 200, response.json
    return response.json["customer"]


def test_create_answers_with_parent_and_newest_default_wins(client, admin, make_customer):
    customer = make_customer()
    parent = add(client, admin, customer["id"], city="Paris", is_default_shipping=True)
    assert parent["id"] == customer["id"]
    parent = add(client, admin, customer["id"], city="Lyon", is_default_shipping=True)
    flags = {a["city"]: a["is_default_shipping"] for a in parent["addresses"]}
    assert flags == {"Paris": False, "Lyon": True}


def test_two_defaults_of_one_kind_in_one_request_is_impossible_here(client, admin, make_customer):
    # the body holds one address, so the service's "two defaults in one call" case never arises
    customer = make_customer()
    response = client.post(
        f"/admin/customers/{customer['id']}/addresses",
        json={"is_default_billing": True, "is_default_shipping": True},
        headers=admin,
    )
    assert response.status_code == 200


def test_list_retrieve_update_delete(client, admin, make_customer):
    customer = make_customer()
    cid = customer["id"]
    parent = add(client, admin, cid, city="Huntingdon 123", address_name="home")
    add(client, admin, cid, city="Horseshoe 555")
    address_id = parent["addresses"][0]["id"]

    listed = client.get(f"/admin/customers/{cid}/addresses", headers=admin).json
    assert listed["count"] == 2 and listed["limit"] == 50
    assert set(listed["addresses"][0]) == ADMIN_ADDRESS_KEYS
    assert [
        a["city"]
        for a in client.get(f"/admin/customers/{cid}/addresses?q=12", headers=admin).json[
            "addresses"
        ]
    ] == ["Huntingdon 123"]
    assert (
        client.get(f"/admin/customers/{cid}/addresses?city[]=Horseshoe%20555", headers=admin).json[
            "count"
        ]
        == 1
    )

    response = client.get(f"/admin/customers/{cid}/addresses/{address_id}", headers=admin)
    assert response.status_code == 200
    assert response.json["address"]["id"] == address_id
    response = client.get(
        f"/admin/customers/{cid}/addresses/{address_id}?fields=address_name", headers=admin
    )
    assert response.json == {"address": {"id": address_id, "address_name": "home"}}

    response = client.post(
        f"/admin/customers/{cid}/addresses/{address_id}?fields=*addresses",
        json={"city": "Cambridge", "metadata": {"a": 1}},
        headers=admin,
    )
    assert response.status_code == 200
    cities = {a["id"]: a["city"] for a in response.json["customer"]["addresses"]}
    assert cities[address_id] == "Cambridge"

    response = client.delete(f"/admin/customers/{cid}/addresses/{address_id}", headers=admin)
    assert response.status_code == 200
    body = response.json
    assert (body["id"], body["object"], body["deleted"]) == (address_id, "customer_address", True)
    assert body["parent"]["id"] == cid
    assert client.get(f"/admin/customers/{cid}/addresses", headers=admin).json["count"] == 1
    # hard delete: not even with_deleted shows it
    assert (
        client.get(f"/admin/customers/{cid}/addresses?with_deleted=true", headers=admin).json[
            "count"
        ]
        == 1
    )


def test_unknown_or_foreign_address_is_404(client, admin, make_customer):
    one, two = make_customer(), make_customer()
    address_id = add(client, admin, one["id"], city="X")["addresses"][0]["id"]
    for url in (
        f"/admin/customers/{two['id']}/addresses/{address_id}",
        f"/admin/customers/{one['id']}/addresses/cuaddr_nope",
    ):
        assert client.get(url, headers=admin).status_code == 404
        assert client.delete(url, headers=admin).status_code == 404
    response = client.get(f"/admin/customers/{one['id']}/addresses/cuaddr_nope", headers=admin)
    assert response.json == {
        "type": "not_found",
        "message": "Address with id: cuaddr_nope was not found",
    }
    # the address survived the foreign delete attempt
    assert (
        client.get(
            f"/admin/customers/{one['id']}/addresses/{address_id}", headers=admin
        ).status_code
        == 200
    )


def test_address_on_unknown_customer_is_404(client, admin):
    response = client.post("/admin/customers/cus_nope/addresses", json={"city": "x"}, headers=admin)
    assert response.status_code == 404
    response = client.post(
        "/admin/customers/cus_nope/addresses/cuaddr_x", json={"city": "x"}, headers=admin
    )
    assert response.status_code == 404


def test_address_body_validation(client, admin, make_customer):
    customer = make_customer()
    response = client.post(
        f"/admin/customers/{customer['id']}/addresses",
        json={"city": 5, "is_default_shipping": "yes", "nope": 1},
        headers=admin,
    )
    assert response.status_code == 400
    assert response.json["message"] == (
        "Invalid request: Expected type: 'boolean' for field 'is_default_shipping', got: 'string'; "
        "Expected type: 'string' for field 'city', got: 'number'; Unrecognized fields: 'nope'"
    )
