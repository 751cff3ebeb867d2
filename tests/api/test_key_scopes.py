"""API key scopes (``admin``, ``read``), expiry, and ``GET /admin/me``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.auth import key_cache_of
from app.credentials import ApiKeys, hash_secret, new_secret
from app.errors import InvalidData
from app.webapp import run, runtime_of
from tests.api.conftest import token_for


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


@pytest.fixture
def keys(app) -> ApiKeys:
    return ApiKeys(runtime_of(app).service.database)


@pytest.fixture
def read_key(app, keys) -> tuple[dict, str]:
    return run(keys.create("support", scope="read"), app=app)


def test_a_read_key_reads_and_nothing_else(client, make_customer, read_key) -> None:
    _, secret = read_key
    customer = make_customer(email="r@example.com")
    path = f"/admin/customers/{customer['id']}"
    assert client.get("/admin/customers", headers=bearer(secret)).status_code == 200
    assert client.get(path, headers=bearer(secret)).status_code == 200
    assert client.head(path, headers=bearer(secret)).status_code == 200
    assert client.get("/admin/customers/search?q=r", headers=bearer(secret)).status_code == 200
    writes = [
        ("POST", "/admin/customers", {"email": "new@example.com"}),
        ("POST", path, {"first_name": "X"}),
        ("DELETE", path, None),
        ("POST", f"{path}/restore", None),
        ("POST", f"{path}/addresses", {"city": "Nice"}),
        ("POST", "/admin/customer-groups", {"name": "VIP"}),
    ]
    for method, url, body in writes:
        response = client.open(url, method=method, json=body, headers=bearer(secret))
        assert response.status_code == 403, (method, url, response.json)
        assert response.json["type"] == "not_allowed"
        assert "'read' scope" in response.json["message"] and method in response.json["message"]
    assert client.get(path, headers=bearer(secret)).json["customer"]["first_name"] is None
    listed = client.get("/admin/customers", headers=bearer(secret)).json
    assert [c["email"] for c in listed["customers"]] == ["r@example.com"]  # nothing written


def test_me_describes_the_credentials(client, api_key, read_key) -> None:
    record, secret = read_key
    assert client.get("/admin/me", headers=bearer(secret)).json == {
        "scope": "read",
        "actor_type": "api_key",
        "actor_id": record["id"],
        "expires_at": None,
    }
    assert client.get("/admin/me", headers=bearer(api_key)).json["scope"] == "admin"
    user = client.get("/admin/me", headers=bearer(token_for("user", "user_9"))).json
    assert (user["scope"], user["actor_type"], user["actor_id"]) == ("admin", "user", "user_9")
    expires = datetime.fromisoformat(user["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    assert client.get("/admin/me").status_code == 401
    assert (
        client.get("/admin/me", headers=bearer(token_for("customer", "cus_1"))).status_code == 401
    )


def test_an_expiring_key_says_when_and_is_refused_after(app, client, keys, monkeypatch) -> None:
    record, secret = run(keys.create("temp", expires_in=timedelta(hours=1)), app=app)
    me = client.get("/admin/me", headers=bearer(secret))
    assert me.status_code == 200  # and now cached
    expires = datetime.fromisoformat(me.json["expires_at"])
    assert expires == record["expires_at"]
    cache = key_cache_of(app)
    monkeypatch.setattr(cache, "clock", lambda: 0.0)  # the cached entry stays fresh...
    monkeypatch.setattr(cache, "now", lambda: expires)  # ...but the key's time is up
    refused = client.get("/admin/customers", headers=bearer(secret))
    assert refused.status_code == 401 and refused.json == {"message": "Unauthorized"}
    monkeypatch.setattr(cache, "now", lambda: expires - timedelta(seconds=1))
    assert client.get("/admin/customers", headers=bearer(secret)).status_code == 200


def test_a_key_stored_expired_is_refused(app, client, keys) -> None:
    secret = new_secret()
    past = datetime.now(UTC) - timedelta(seconds=1)
    run(_insert_key(keys, secret, scope="admin", expires_at=past), app=app)
    assert client.get("/admin/customers", headers=bearer(secret)).status_code == 401


def test_keys_stored_before_scopes_are_admin_keys_without_expiry(app, client, keys) -> None:
    secret = new_secret()
    run(_insert_key(keys, secret), app=app)  # no scope, no expires_at
    me = client.get("/admin/me", headers=bearer(secret)).json
    assert (me["scope"], me["expires_at"]) == ("admin", None)
    created = client.post("/admin/customers", json={"email": "o@x.io"}, headers=bearer(secret))
    assert created.status_code == 200


def test_scopes_and_expiries_are_checked_when_created(app, keys) -> None:
    with pytest.raises(InvalidData, match="scope must be one of admin, read"):
        run(keys.create("x", scope="write"), app=app)
    with pytest.raises(InvalidData, match="expires_in must be positive"):
        run(keys.create("x", expires_in=timedelta(0)), app=app)


async def _insert_key(keys: ApiKeys, secret: str, **fields: object) -> None:
    await keys.collection.insert_one(
        {
            "_id": f"apk_{secret[-12:]}",
            "title": "stored directly",
            "type": "secret",
            "token_hash": hash_secret(secret),
            "redacted": "sk_…",
            "created_at": datetime.now(UTC),
            "revoked_at": None,
            **fields,
        }
    )
