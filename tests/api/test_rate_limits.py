"""Rate limits per client address: failed authentication and store registration → 429."""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from app import create_app
from app.config import ConfigError, Settings
from app.errors import RateLimited
from app.ratelimit import RateLimits, parse_limit
from app.webapp import close_app
from tests.api.conftest import token_for

AUTH_LIMIT = 3
REGISTER_LIMIT = 2


@pytest.fixture(scope="module")
def limited_app(index_app: Flask, api_settings: Settings) -> Iterator[Flask]:
    """An app on the package's database with low limits (each test uses addresses of its own);
    MongoDB answers its lists (one index app per package is enough)."""
    settings = dataclasses.replace(
        api_settings,
        rate_limit_auth=f"{AUTH_LIMIT}/minute",
        rate_limit_register=f"{REGISTER_LIMIT}/minute",
    )
    limited = create_app(settings, search=False)
    limited.config["TESTING"] = True
    yield limited
    close_app(limited)


def client_at(app: Flask, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def basic(secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}


BAD_KEY = basic("sk_" + "0" * 64)


def registration() -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('customer', '')}"}


def assert_limited(response) -> None:
    assert response.status_code == 429
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert response.json == {
        "type": "not_allowed",
        "message": f"Too many requests; retry in {retry} seconds",
    }


def test_failed_auths_are_limited_but_valid_credentials_still_work(limited_app, api_key):
    client = client_at(limited_app, "10.0.0.1")
    for _ in range(AUTH_LIMIT):
        assert client.get("/admin/customers", headers=BAD_KEY).status_code == 401
    assert_limited(client.get("/admin/customers", headers=BAD_KEY))
    # one count per address, over admin and store routes
    assert_limited(client.get("/store/customers/me", headers={"Authorization": "Bearer x"}))
    assert_limited(client.get("/store/customers/me"))
    # the admin's own key, from the same address, is neither refused nor counted
    for _ in range(5):
        assert client.get("/admin/customers", headers=basic(api_key)).status_code == 200
    user = {"Authorization": f"Bearer {token_for('user', 'user_1')}"}
    assert client.get("/admin/customers", headers=user).status_code == 200
    # another address is not affected
    assert client_at(limited_app, "10.0.0.2").get("/admin/customers").status_code == 401


def test_successful_requests_are_not_counted(limited_app, api_key):
    client = client_at(limited_app, "10.0.0.3")
    for _ in range(AUTH_LIMIT * 3):
        assert client.get("/admin/customers", headers=basic(api_key)).status_code == 200
    for _ in range(AUTH_LIMIT):
        assert client.get("/admin/customers", headers=BAD_KEY).status_code == 401


def test_registration_counts_every_attempt(limited_app):
    client = client_at(limited_app, "10.0.1.1")
    response = client.post("/store/customers", json={"email": "a@shop.com"}, headers=registration())
    assert response.status_code == 200
    response = client.post("/store/customers", json={}, headers=registration())
    assert response.status_code == 400  # a refused attempt counts too
    assert_limited(
        client.post("/store/customers", json={"email": "b@shop.com"}, headers=registration())
    )
    # only registration is limited: the new customer's own routes still answer
    customer = client.get(
        "/store/customers/me",
        headers={"Authorization": f"Bearer {token_for('customer', 'cus_nobody')}"},
    )
    assert customer.status_code == 404
    other = client_at(limited_app, "10.0.1.2")
    response = other.post("/store/customers", json={"email": "b@shop.com"}, headers=registration())
    assert response.status_code == 200


def test_the_limit_lifts_after_retry_after() -> None:
    limits = RateLimits.from_settings(Settings(rate_limit_auth="2/second"))
    limits.hit(limits.auth, "auth", "10.0.2.1")
    limits.hit(limits.auth, "auth", "10.0.2.1")
    with pytest.raises(RateLimited) as info:
        limits.hit(limits.auth, "auth", "10.0.2.1")
    assert info.value.retry_after == 1 and info.value.type == "not_allowed"
    time.sleep(info.value.retry_after + 0.1)
    limits.hit(limits.auth, "auth", "10.0.2.1")


@pytest.mark.parametrize("value", ["off", "OFF", "0", "", "none", None])
def test_limits_can_be_turned_off(value) -> None:
    assert parse_limit(value, "X") is None
    limits = RateLimits.from_settings(Settings(rate_limit_auth=value, rate_limit_register=value))
    for _ in range(1000):
        limits.hit(limits.auth, "auth", "10.0.3.1")
        limits.hit(limits.register, "register", "10.0.3.1")


def test_limits_are_read_from_the_environment() -> None:
    env = {"CUSTOMERS_RATE_LIMIT_AUTH": "5/10 seconds", "CUSTOMERS_RATE_LIMIT_REGISTER": "off"}
    limits = RateLimits.from_settings(Settings.from_env(env))
    assert (limits.auth.amount, limits.auth.get_expiry()) == (5, 10)
    assert limits.register is None
    defaults = RateLimits.from_settings(Settings.from_env({}))
    assert (defaults.auth.amount, defaults.auth.get_expiry()) == (30, 60)
    with pytest.raises(
        ConfigError, match=r"CUSTOMERS_RATE_LIMIT_REGISTER must be a rate .* 'lots'"
    ):
        Settings(rate_limit_register="lots")
