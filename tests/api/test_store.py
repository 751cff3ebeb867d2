"""/store/customers: registration, /me, and a customer's own addresses only."""

from __future__ import annotations

STORE_KEYS = {
    "id", "email", "company_name", "first_name", "last_name", "phone", "metadata",
    "has_account", "created_at", "updated_at", "deleted_at", "addresses",
}  # fmt: skip


def test_register_creates_account_customer(client, store_headers):
    response = client.post(
        "/store/customers",
        json={"email": "New@Shop.com", "first_name": "N"},
        headers=store_headers(""),
    )
    assert response.status_code == 200
    customer = response.json["customer"]
    assert set(customer) == STORE_KEYS
    assert customer["has_account"] is True and customer["email"] == "new@shop.com"
    assert customer["addresses"] == []


def test_register_rules(client, store_headers, make_customer, registered):
    make_customer(email="guest@shop.com")  # a guest does not block registration
    customer, _ = registered("guest@shop.com")
    response = client.post(
        "/store/customers", json={"email": "GUEST@shop.com"}, headers=store_headers("")
    )
    assert response.status_code == 422
    assert response.json["type"] == "duplicate_error"
    assert response.json["message"] == "Customer with this email already has an account"
    response = client.post("/store/customers", json={"first_name": "x"}, headers=store_headers(""))
    assert response.status_code == 400
    assert response.json["message"] == "Email is required to create a customer"
    response = client.post(
        "/store/customers", json={"email": "x@shop.com"}, headers=store_headers(customer["id"])
    )
    assert response.status_code == 400
    assert response.json["message"] == "Request already authenticated as a customer."
    response = client.post("/store/customers", json={"email": "bad"}, headers=store_headers(""))
    assert response.json["message"] == "Invalid request: Invalid email"


def test_me_and_update_me(client, registered):
    customer, headers = registered("me@shop.com")
    response = client.get("/store/customers/me", headers=headers)
    assert response.status_code == 200 and response.json["customer"]["id"] == customer["id"]
    response = client.post("/store/customers/me", json={"first_name": "Me"}, headers=headers)
    assert response.json["customer"]["first_name"] == "Me"
    response = client.post("/store/customers/me", json={"email": "x@y.com"}, headers=headers)
    assert response.status_code == 400
    assert response.json["message"] == "Invalid request: Unrecognized fields: 'email'"
    response = client.get("/store/customers/me?fields=email", headers=headers)
    assert response.json == {"customer": {"id": customer["id"], "email": "me@shop.com"}}


def test_me_of_unknown_customer_is_404(client, store_headers):
    response = client.get("/store/customers/me", headers=store_headers("cus_gone"))
    assert response.status_code == 404
    assert response.json["message"] == "Customer with id: cus_gone was not found"


def test_addresses_lifecycle(client, registered):
    _, headers = registered("addr@shop.com")
    response = client.post(
        "/store/customers/me/addresses",
        json={"city": "Paris", "is_default_billing": True},
        headers=headers,
    )
    assert response.status_code == 200
    address = response.json["customer"]["addresses"][0]
    assert address["is_default_billing"] is True
    response = client.post(
        "/store/customers/me/addresses",
        json={"city": "Rome", "is_default_billing": True},
        headers=headers,
    )
    defaults = {a["city"]: a["is_default_billing"] for a in response.json["customer"]["addresses"]}
    assert defaults == {"Paris": False, "Rome": True}

    listed = client.get("/store/customers/me/addresses?city=Paris", headers=headers).json
    assert listed["count"] == 1 and "is_default_shipping" in listed["addresses"][0]
    url = f"/store/customers/me/addresses/{address['id']}"
    assert client.get(url, headers=headers).json["address"]["city"] == "Paris"
    response = client.post(url, json={"city": "Nice"}, headers=headers)
    assert {a["city"] for a in response.json["customer"]["addresses"]} == {"Nice", "Rome"}
    response = client.delete(url, headers=headers)
    body = response.json
    # our difference: the id is the address id, not the customer id
    assert (body["id"], body["object"], body["deleted"]) == (address["id"], "address", True)
    assert [a["city"] for a in body["parent"]["addresses"]] == ["Rome"]


def test_customer_cannot_touch_another_customers_address(client, registered):
    _, alice = registered("alice@shop.com")
    _, mallory = registered("mallory@shop.com")
    address = client.post(
        "/store/customers/me/addresses", json={"city": "Secret"}, headers=alice
    ).json["customer"]["addresses"][0]
    url = f"/store/customers/me/addresses/{address['id']}"
    for response in (
        client.get(url, headers=mallory),
        client.post(url, json={"city": "Stolen"}, headers=mallory),
        client.delete(url, headers=mallory),
    ):
        assert response.status_code == 404
        assert response.json == {
            "type": "not_found",
            "message": f"Address with id: {address['id']} was not found",
        }
    assert client.get("/store/customers/me/addresses", headers=mallory).json["count"] == 0
    assert client.get(url, headers=alice).json["address"]["city"] == "Secret"
