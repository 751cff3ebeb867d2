"""CORS from ADMIN_CORS / STORE_CORS (a second app with those settings)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app import create_app
from app.webapp import close_app


@pytest.fixture
def cors_client(api_settings):
    settings = replace(
        api_settings, admin_cors=("https://admin.example",), store_cors=("https://shop.example",)
    )
    app = create_app(settings, search=False)
    yield app.test_client()
    close_app(app)


def test_preflight_and_origins(cors_client) -> None:
    preflight = cors_client.options(
        "/admin/customers",
        headers={
            "Origin": "https://admin.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://admin.example"
    response = cors_client.get("/admin/customers", headers={"Origin": "https://admin.example"})
    assert response.status_code == 401  # CORS headers do not replace authentication
    assert response.headers["Access-Control-Allow-Origin"] == "https://admin.example"
    other = cors_client.get("/admin/customers", headers={"Origin": "https://shop.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    store = cors_client.get("/store/customers/me", headers={"Origin": "https://shop.example"})
    assert store.headers["Access-Control-Allow-Origin"] == "https://shop.example"


def test_pages_on_other_origins_may_send_if_match_and_read_etag(cors_client) -> None:
    preflight = cors_client.options(
        "/admin/customers/cus_1",
        headers={
            "Origin": "https://admin.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )
    assert preflight.status_code == 200
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "if-match" in allowed.replace(" ", "").split(",")
    response = cors_client.get("/admin/customers", headers={"Origin": "https://admin.example"})
    assert response.headers["Access-Control-Expose-Headers"] == "ETag"
