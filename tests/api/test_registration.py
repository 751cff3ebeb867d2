"""POST /store/customers and auth identities: one customer per identity, tokens that expire."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from click.testing import CliRunner

from app.cli import cli
from app.credentials import decode_token
from app.webapp import run, runtime_of
from tests.api.conftest import JWT_SECRET, token_for

ALREADY_LINKED = {
    "type": "invalid_data",
    "message": "Key customer_id already exists in app metadata",
}
UNAUTHORIZED = {"message": "Unauthorized"}


def registration(identity: str, **claims) -> dict[str, str]:
    token = token_for("customer", "", auth_identity_id=identity, **claims)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def bearer(claims: dict) -> dict[str, str]:
    return {"Authorization": "Bearer " + jwt.encode(claims, JWT_SECRET, "HS256")}


def stored(app, collection: str) -> list[dict]:
    database = runtime_of(app).service.database
    return run(database[collection].find({}).to_list(), app=app)


def test_one_token_registers_one_customer(app, client):
    headers = registration("authid_one")
    first = client.post("/store/customers", json={"email": "a@shop.com"}, headers=headers)
    assert first.status_code == 200
    customer_id = first.json["customer"]["id"]
    for email in ("b@shop.com", "c@shop.com"):
        again = client.post("/store/customers", json={"email": email}, headers=headers)
        assert again.status_code == 400 and again.json == ALREADY_LINKED
    # a second token of the same identity is refused just the same
    other_token = registration("authid_one", expires_in=60)
    assert other_token != headers
    response = client.post("/store/customers", json={"email": "d@shop.com"}, headers=other_token)
    assert response.status_code == 400 and response.json == ALREADY_LINKED
    assert [c["_id"] for c in stored(app, "customers")] == [customer_id]
    assert [(link["_id"], link["customer_id"]) for link in stored(app, "identity_links")] == [
        ("authid_one", customer_id)
    ]


def test_twenty_parallel_registrations_with_one_token(app):
    headers = registration("authid_race")

    def register(i: int) -> tuple[int, dict]:
        response = app.test_client().post(
            "/store/customers", json={"email": f"race{i}@shop.com"}, headers=headers
        )
        return response.status_code, response.json

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(register, range(20)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [400] * 19
    assert all(body == ALREADY_LINKED for status, body in results if status == 400)
    (made,) = [body["customer"]["id"] for status, body in results if status == 200]
    assert [c["_id"] for c in stored(app, "customers")] == [made]
    assert [(link["_id"], link["customer_id"]) for link in stored(app, "identity_links")] == [
        ("authid_race", made)
    ]


def test_admin_delete_frees_the_identity(client, admin):
    headers = registration("authid_again")
    first = client.post("/store/customers", json={"email": "a@shop.com"}, headers=headers)
    customer_id = first.json["customer"]["id"]
    refused = client.post("/store/customers", json={"email": "b@shop.com"}, headers=headers)
    assert refused.status_code == 400
    assert client.delete(f"/admin/customers/{customer_id}", headers=admin).status_code == 200
    again = client.post("/store/customers", json={"email": "a@shop.com"}, headers=headers)
    assert again.status_code == 200
    assert again.json["customer"]["id"] != customer_id


def test_duplicate_account_is_still_422_and_links_nothing(app, client):
    assert (
        client.post(
            "/store/customers", json={"email": "a@shop.com"}, headers=registration("authid_a")
        ).status_code
        == 200
    )
    response = client.post(
        "/store/customers", json={"email": "A@shop.com"}, headers=registration("authid_b")
    )
    assert response.status_code == 422
    assert response.json["message"] == "Customer with this email already has an account"
    assert [link["_id"] for link in stored(app, "identity_links")] == ["authid_a"]
    # ... and authid_b may still register another email
    response = client.post(
        "/store/customers", json={"email": "b@shop.com"}, headers=registration("authid_b")
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"actor_type": "customer", "actor_id": "", "exp": 4102444800},  # no auth_identity_id
        {"actor_type": "customer", "actor_id": "", "auth_identity_id": "", "exp": 4102444800},
        {"actor_type": "customer", "actor_id": "", "auth_identity_id": "a" * 65, "exp": 4102444800},
        {"actor_type": "customer", "actor_id": "", "auth_identity_id": "authid_x"},  # no exp
    ],
)
def test_registration_token_needs_an_identity_and_an_expiry(app, client, claims):
    response = client.post("/store/customers", json={"email": "a@shop.com"}, headers=bearer(claims))
    assert response.status_code == 401 and response.json == UNAUTHORIZED
    assert stored(app, "customers") == []


def test_tokens_without_exp_are_refused(client, registered):
    customer, _ = registered("me@shop.com")
    forever = {"actor_type": "customer", "actor_id": customer["id"], "auth_identity_id": "i"}
    response = client.get("/store/customers/me", headers=bearer(forever))
    assert response.status_code == 401 and response.json == UNAUTHORIZED
    response = client.get("/store/customers/me", headers=bearer({**forever, "exp": 4102444800}))
    assert response.status_code == 200
    user = {"actor_type": "user", "actor_id": "user_1", "auth_identity_id": "i"}
    response = client.get("/admin/customers", headers=bearer(user))
    assert response.status_code == 401 and response.json == UNAUTHORIZED
    assert (
        client.get("/admin/customers", headers=bearer({**user, "exp": 4102444800})).status_code
        == 200
    )


def test_cli_registration_tokens_each_carry_a_fresh_identity(client):
    runner = CliRunner()
    env = {"JWT_SECRET": JWT_SECRET}
    tokens = [
        runner.invoke(cli, ["token", "--register", "a@shop.com"], env=env).stdout.strip()
        for _ in range(2)
    ]
    identities = {decode_token(JWT_SECRET, token).auth_identity_id for token in tokens}
    assert len(identities) == 2 and all(i.startswith("authid_") for i in identities)
    for email, token in zip(("a@shop.com", "b@shop.com"), tokens, strict=True):
        headers = {"Authorization": f"Bearer {token}"}
        response = client.post("/store/customers", json={"email": email}, headers=headers)
        assert response.status_code == 200
