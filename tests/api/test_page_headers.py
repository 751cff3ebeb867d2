"""The admin web app's security headers: everything under ``/app``, and nothing else."""

from __future__ import annotations

import pytest
from flask import Blueprint

from app import create_app
from app.webapp import close_app

EXPECTED = {
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@pytest.fixture(scope="module")
def page_client(api_settings):
    """An app with a stand-in page blueprint at ``/app`` (the real one is the web app's)."""
    app = create_app(api_settings, search=False)
    page = Blueprint("page_stand_in", __name__, url_prefix="/app")
    page.add_url_rule("", "index", lambda: "<!doctype html><title>app</title>")
    page.add_url_rule("/static/x.js", "asset", lambda: ("1;", 200, {"Content-Type": "text/js"}))
    app.register_blueprint(page)
    yield app.test_client()
    close_app(app)


@pytest.mark.parametrize("path", ["/app", "/app/static/x.js", "/app/customers/cus_1", "/app/"])
def test_everything_under_app_carries_the_headers(page_client, path) -> None:
    response = page_client.get(path)  # the page, an asset, and 404s (no such view) alike
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (path, name)
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


@pytest.mark.parametrize("path", ["/health", "/application", "/admin/customers", "/apps/x"])
def test_other_paths_do_not(page_client, path) -> None:
    response = page_client.get(path)
    assert "Content-Security-Policy" not in response.headers, path
