"""Fixtures of the HTTP API tests: one app (one loop, one database) for the whole package.

The ``app`` is the one ``customers serve`` runs: the search index answers the customer lists and
the ranked lookup, and its sync indexer runs in-process (read-your-writes). Tests marked
:data:`BOTH_PATHS` run again on ``mongodb_app``, the same app without the search index, where
MongoDB answers everything (the fallback path); :data:`MONGODB_PATH` runs on it alone.

Building an app connects the service, creates indexes and builds the index, so it is done once
per package; every test then starts from empty ``customers`` / ``customer_groups`` /
``identity_links`` collections (API keys are kept). The apps' rate limits are off;
``test_rate_limits.py`` builds an app with low ones.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pymongo import MongoClient

from app import create_app
from app.config import Settings
from app.credentials import ApiKeys, mint_token
from app.webapp import close_app, run, runtime_of

JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
FIRST_BUILD_SECONDS = 60.0  # the index app's first index build, on a busy machine

BOTH_PATHS = pytest.mark.parametrize("app", ["index", "mongodb"], indirect=True)
"""Run the test on the index-served path and on the MongoDB fallback path."""
MONGODB_PATH = pytest.mark.parametrize("app", ["mongodb"], indirect=True)
"""Run the test on the MongoDB fallback path only (the app without the search index)."""


@pytest.fixture(scope="package")
def api_settings(mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of the test app: the test server, a database of its own, a known JWT secret."""
    return Settings(
        mongodb_uri=mongodb_uri,
        mongodb_database=f"api_{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path_factory.mktemp("api-data"),
        jwt_secret=JWT_SECRET,
        rate_limit_auth="off",  # the focused tests of tests/api/test_rate_limits.py use low ones
        rate_limit_register="off",
    )


@pytest.fixture(scope="package")
def index_app(api_settings: Settings, mongodb_uri: str) -> Iterator[Flask]:
    """The API app as ``customers serve`` runs it, once its index is built."""
    app = create_app(api_settings)
    app.config["TESTING"] = True
    indexer = runtime_of(app).indexer
    assert indexer is not None
    deadline = time.monotonic() + FIRST_BUILD_SECONDS
    while not indexer.ready:
        assert time.monotonic() < deadline, f"the index was not built: {indexer!r}"
        time.sleep(0.05)
    yield app
    close_app(app)
    with MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(api_settings.mongodb_database)


@pytest.fixture(scope="package")
def mongodb_app(api_settings: Settings, index_app: Flask) -> Iterator[Flask]:
    """The same app on the same database without the search index: MongoDB answers."""
    app = create_app(api_settings, search=False)
    app.config["TESTING"] = True
    yield app
    close_app(app)


@pytest.fixture
def app(request: pytest.FixtureRequest, index_app: Flask) -> Flask:
    """The index-served app, or (parametrized ``"mongodb"``) the MongoDB fallback one."""
    if getattr(request, "param", "index") == "index":
        return index_app
    fallback: Flask = request.getfixturevalue("mongodb_app")
    return fallback


@pytest.fixture(autouse=True)
def _clean_collections(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty the data collections after each test that used the package's database."""
    yield
    if "index_app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("index_app")

    async def clean() -> None:
        database = runtime_of(app).service.database
        await database["customers"].delete_many({})
        await database["customer_groups"].delete_many({})
        await database["identity_links"].delete_many({})

    run(clean(), app=app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A Flask test client."""
    return app.test_client()


@pytest.fixture(scope="package")
def api_key(index_app: Flask) -> str:
    """A live secret API key (in the database both apps share)."""

    async def create() -> str:
        database = runtime_of(index_app).service.database
        _, secret = await ApiKeys(database).create("tests")
        return secret

    return run(create(), app=index_app)


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
