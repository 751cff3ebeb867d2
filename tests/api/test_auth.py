"""Authentication: API keys (Basic and Bearer), admin and customer JWTs, every failure = 401."""

from __future__ import annotations

import base64
import logging

import jwt
import pytest

from app.auth import KEY_CACHE_SECONDS, key_cache_of
from app.config import DEFAULT_JWT_SECRET, Settings
from app.credentials import (
    ApiKeys,
    AuthError,
    decode_token,
    hash_secret,
    jwt_secret_for,
    new_secret,
)
from app.webapp import run, runtime_of
from tests.api.conftest import JWT_SECRET, token_for

UNAUTHORIZED = {"message": "Unauthorized"}


def basic(secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}


def test_secrets_and_hashes() -> None:
    secret = new_secret()
    assert secret.startswith("sk_") and len(secret) == 67
    assert hash_secret(secret) != secret and len(hash_secret(secret)) == 64


def test_jwt_secret_defaults_loudly_and_is_refused_in_production(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="customers.auth"):
        assert jwt_secret_for(Settings()) == DEFAULT_JWT_SECRET
    assert "JWT_SECRET is not set" in caplog.text
    for secret in (None, DEFAULT_JWT_SECRET):
        with pytest.raises(RuntimeError, match="refusing to start"):
            jwt_secret_for(Settings(environment="production", jwt_secret=secret))
    assert jwt_secret_for(Settings(environment="production", jwt_secret="s" * 40)) == "s" * 40


def test_api_key_as_basic_and_bearer(client, api_key) -> None:
    assert client.get("/admin/customers", headers=basic(api_key)).status_code == 200
    headers = {"Authorization": f"Bearer {api_key}"}
    assert client.get("/admin/customers", headers=headers).status_code == 200


def test_user_jwt_sets_created_by(client) -> None:
    headers = {"Authorization": f"Bearer {token_for('user', 'user_123')}"}
    response = client.post("/admin/customers", json={}, headers=headers)
    assert response.status_code == 200
    assert response.json["customer"]["created_by"] == "user_123"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer sk_" + "0" * 64,  # unknown key
        "Basic " + base64.b64encode(b"sk_nope:").decode(),
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"user:password").decode(),
        "Bearer not.a.jwt",
        "Bearer " + token_for("customer", "cus_1"),  # wrong actor type
        "Bearer " + token_for("user", ""),  # no actor
        "Bearer " + token_for("user", "u", expires_in=-10),  # expired
        "Bearer " + jwt.encode({"actor_type": "user", "actor_id": "u"}, "x" * 40, "HS256"),
        "Bearer " + jwt.encode({"actor_type": "user", "actor_id": "u"}, None, "none"),
        "Token abc",
    ],
)
def test_admin_rejects_bad_credentials(client, authorization) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, url in (("get", "/admin/customers"), ("post", "/admin/customer-groups")):
        response = getattr(client, method)(url, headers=headers, json={"name": "x"})
        assert response.status_code == 401
        assert response.json == UNAUTHORIZED


def test_revoked_key_is_rejected(app, client) -> None:
    keys = ApiKeys(runtime_of(app).service.database)
    record, secret = run(keys.create("short-lived"), app=app)
    run(keys.revoke(record["id"]), app=app)
    assert client.get("/admin/customers", headers=basic(secret)).status_code == 401
    listed = run(keys.list_keys(), app=app)
    assert any(k["id"] == record["id"] and k["revoked_at"] for k in listed)
    assert all("token_hash" not in k for k in listed)


def test_a_key_revoked_elsewhere_is_refused_once_the_cache_time_has_passed(
    app, client, monkeypatch
) -> None:
    keys = ApiKeys(runtime_of(app).service.database)
    record, secret = run(keys.create("cached"), app=app)
    now = [1000.0]
    monkeypatch.setattr(key_cache_of(app), "clock", lambda: now[0])
    assert client.get("/admin/customers?limit=1", headers=basic(secret)).status_code == 200
    run(keys.revoke(record["id"]), app=app)  # in the database only, as another process does
    now[0] += KEY_CACHE_SECONDS - 0.01
    assert client.get("/admin/customers?limit=1", headers=basic(secret)).status_code == 200
    now[0] += 0.02
    assert client.get("/admin/customers?limit=1", headers=basic(secret)).status_code == 401


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer " + token_for("user", "user_1"),  # admin token on the store
        "Bearer " + token_for("customer", "cus_1", expires_in=-1),
        "Bearer " + token_for("customer", ""),  # registration token outside registration
        "Bearer " + jwt.encode({"actor_type": "customer", "actor_id": "c"}, "y" * 40, "HS256"),
    ],
)
def test_store_rejects_bad_credentials(client, api_key, authorization) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for url in ("/store/customers/me", "/store/customers/me/addresses"):
        response = client.get(url, headers=headers)
        assert response.status_code == 401
        assert response.json == UNAUTHORIZED
    # a secret API key is an admin credential only
    assert client.get("/store/customers/me", headers=basic(api_key)).status_code == 401


def test_registration_needs_a_customer_token(client) -> None:
    assert client.post("/store/customers", json={"email": "a@b.co"}).status_code == 401
    headers = {"Authorization": f"Bearer {token_for('user', 'u')}"}
    assert (
        client.post("/store/customers", json={"email": "a@b.co"}, headers=headers).status_code
        == 401
    )


def test_decode_token_reads_medusa_claims() -> None:
    token = token_for("customer", "cus_1", app_metadata={"customer_id": "cus_1"})
    actor = decode_token(JWT_SECRET, token)
    assert (actor.actor_type, actor.actor_id, actor.app_metadata) == (
        "customer",
        "cus_1",
        {"customer_id": "cus_1"},
    )
    assert actor.auth_identity_id.startswith("authid_")


def test_a_token_expiring_beyond_the_calendar_is_refused(client) -> None:
    token = jwt.encode(
        {"actor_type": "user", "actor_id": "user_1", "exp": 10**15}, JWT_SECRET, "HS256"
    )
    with pytest.raises(AuthError, match="out of range"):
        decode_token(JWT_SECRET, token)
    assert client.get("/admin/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
