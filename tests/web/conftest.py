"""Fixtures of the browser tests: one ``customers serve`` and one Chromium for the package, and
a fresh browser context (its own tab and ``sessionStorage``) for each test.

The browser is Debian's Chromium (``apt-get install chromium``; ``.ci/run`` installs it) driven
by Playwright for Python. Without it, or without the ``playwright`` package, the tests that need
a browser are skipped with the reason; the HTTP-only ones still run.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient

from tests.web.support import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    PLAYWRIGHT_MISSING,
    TIMEOUT_MS,
    AppServer,
    Tab,
    open_tab,
    server_env,
)


@pytest.fixture(scope="package")
def server(mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """``customers serve`` on a temporary data dir and a database of its own, with an API key."""
    database = f"web_{uuid.uuid4().hex[:8]}"
    served = AppServer(server_env(tmp_path_factory.mktemp("web-data"), mongodb_uri, database))
    yield served
    served.close()
    with MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(database)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless Chromium, or a skip saying what is missing."""
    if importlib.util.find_spec("playwright") is None:
        pytest.skip(PLAYWRIGHT_MISSING)
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, as .ci/run does)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # assertions wait as long as actions (default 5 s)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def tab(browser: Any, server: AppServer) -> Iterator[Tab]:
    """A fresh tab, not signed in."""
    opened = open_tab(browser, server)
    yield opened
    opened.page.context.close()


@pytest.fixture
def signed_in(tab: Tab) -> Tab:
    """A fresh tab, signed in with the server's admin API key."""
    tab.sign_in()
    return tab
