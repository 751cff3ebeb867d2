"""Fixtures of the HTTP API tests: one app (one loop, one database) for the whole package.

Building an app connects the service and creates indexes, so it is done once; every test then
starts from empty ``customers`` / ``customer_groups`` / ``identity_links`` collections (API keys
are kept). The app's rate limits are off; ``test_rate_limits.py`` builds an app with low ones.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pymongo import MongoClient

from app import create_app
from app.auth import ApiKeys, mint_token
from app.config import Settings
from app.runtime import SERVICE, close_app, run

JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


@pytest.fixture(scope="package")
def api_settings(mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of the test app: the test server, a database of its own, a known JWT secret."""
    return Settings(
        mongodb_uri=mongodb_uri,
        mongodb_database=f"api_{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path_factory.mktemp("api-data"),
        jwt_secret=JWT_SECRET,
        indexer_enabled=False,
        rate_limit_auth="off",  # the focused tests of tests/api/test_rate_limits.py use low ones
        rate_limit_register="off",
    )


@pytest.fixture(scope="package")
def app(api_settings: Settings, mongodb_uri: str) -> Iterator[Flask]:
    """The API app, shared by the package's tests."""
    app = create_app(api_settings)
    app.config["TESTING"] = True
    yield app
    close_app(app)
    with MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(api_settings.mongodb_database)


@pytest.fixture(autouse=True)
def _clean_collections(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty the data collections after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")

    async def clean() -> None:
        database = app.extensions[SERVICE].database
        await database["customers"].delete_many({})
        await database["customer_groups"].delete_many({})
        await database["identity_links"].delete_many({})

    run(clean(), app=app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A Flask test client."""
    return app.test_client()


@pytest.fixture(scope="package")
def api_key(app: Flask) -> str:
    """A live secret API key."""

    async def create() -> str:
        database = app.extensions[SERVICE].database
        _, secret = await ApiKeys(database).create("tests")
        return secret

    return run(create(), app=app)


@pytest.fixture
def admin(api_key: str) -> dict[str, str]:
    """Admin headers, exactly as @medusajs/js-sdk sends them for `apiKey`."""
    basic = base64.b64encode(f"{api_key}:".encode()).decode()
    return {"Authorization": f"Basic {basic}", "Content-Type": "application/json"}


def token_for(actor_type: str, actor_id: str, **claims: Any) -> str:
    """A JWT signed with the test secret."""
    return mint_token(JWT_SECRET, actor_type=actor_type, actor_id=actor_id, **claims)


@pytest.fixture
def store_headers() -> Callable[[str], dict[str, str]]:
    """Headers of a customer token for the given customer id ("" = registration token)."""

    def make(customer_id: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token_for('customer', customer_id)}",
            "Content-Type": "application/json",
            "x-publishable-api-key": "pk_ignored",
        }

    return make


@pytest.fixture
def make_customer(client: FlaskClient, admin: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Create a customer through the API and return it."""

    def make(**body: Any) -> dict[str, Any]:
        response = client.post("/admin/customers", json=body, headers=admin)
        assert response.status_code == 200, response.json
        return response.json["customer"]

    return make


@pytest.fixture
def make_group(client: FlaskClient, admin: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Create a customer group through the API and return it."""

    def make(name: str, **body: Any) -> dict[str, Any]:
        response = client.post("/admin/customer-groups", json={"name": name, **body}, headers=admin)
        assert response.status_code == 200, response.json
        return response.json["customer_group"]

    return make


@pytest.fixture
def registered(
    client: FlaskClient, store_headers: Callable[[str], dict[str, str]]
) -> Callable[[str], tuple[dict[str, Any], dict[str, str]]]:
    """Register a store customer; return it and headers of its own token."""

    def make(email: str) -> tuple[dict[str, Any], dict[str, str]]:
        response = client.post("/store/customers", json={"email": email}, headers=store_headers(""))
        assert response.status_code == 200, response.json
        customer = response.json["customer"]
        return customer, store_headers(customer["id"])

    return make
