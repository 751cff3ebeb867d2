"""Fixtures of the operations tests: apps of their own (readiness, metrics), scraping.

Each test builds its own app (``create_app`` binds the Beanie models to that app's loop), so
none of these share the package-scoped app of ``tests/api``. ``make_app`` builds them without
the search index unless asked (``search=True``), and without an in-process indexer unless
``indexer_enabled=True``.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.config import Settings
from app.credentials import mint_token
from app.webapp import close_app

SECRET = "ops-test-secret-long-enough-for-hs256-0123456789"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def admin_headers() -> dict[str, str]:
    """An admin user's JWT (no database round trip, unlike API keys)."""
    token = mint_token(SECRET, actor_type="user", actor_id="user_ops")
    return {"Authorization": f"Bearer {token}"}


def samples(text: str) -> Samples:
    """Prometheus text → {(sample name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape_url(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


@pytest.fixture
def make_app(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> Iterator[Callable[..., tuple[Flask, Settings]]]:
    """Build apps on this test's database (closed afterwards); returns (app, settings)."""
    made: list[Flask] = []

    def make(
        uri: str | None = None, *, search: bool = False, **overrides: Any
    ) -> tuple[Flask, Settings]:
        options: dict[str, Any] = {
            "mongodb_uri": uri or mongodb_uri,
            "mongodb_database": database_name,
            "data_dir": tmp_path / "data",
            "jwt_secret": SECRET,
            "indexer_enabled": False,
            **overrides,
        }
        settings = Settings(**options)
        app = create_app(settings, search=search)
        app.config["TESTING"] = True
        made.append(app)
        return app, settings

    yield make
    for app in made:
        close_app(app)
