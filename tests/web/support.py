"""Helpers of the browser tests: the served app and its admin API, and one browser tab.

:class:`AppServer` is a real ``customers serve`` subprocess (:class:`tests.api.serve_support.Serve`)
with an admin API key made by ``customers api-key create``; tests seed data through its admin API.
:class:`Tab` is one Playwright page that records every console error, uncaught exception and
failed response, so a test can assert the app ran cleanly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.api.serve_support import ROOT, SECRET, Serve, admin_headers

PLAYWRIGHT_MISSING = "Playwright for Python is not installed (pip install -e '.[test]')"
# Chromium from Debian: Playwright's own browser download cannot run on these machines.
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Per Playwright action, wait or assertion: generous for a loaded 2-core machine, and a failing
# step still fails in seconds rather than minutes.
TIMEOUT_MS = 20_000
# The developer's own configuration must not reach the server under test.
_FOREIGN_ENV = (
    "CUSTOMERS_",
    "MONGODB_",
    "ELASTICSEARCH_",
    "JWT_SECRET",
    "ADMIN_CORS",
    "STORE_CORS",
    "METRICS_PORT",
)


def unique_word() -> str:
    """A made-up word (letters only) no other test uses: searches for it find this test's data."""
    return "".join(chr(ord("k") + int(digit, 16) % 16) for digit in uuid.uuid4().hex[:8])


def server_env(data_dir: Path, mongodb_uri: str, database: str) -> dict[str, str]:
    """The environment of the served app (and of the CLI run beside it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_ENV)}
    return {
        **env,
        "CUSTOMERS_DATA_DIR": str(data_dir),
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": database,
        "JWT_SECRET": SECRET,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }


def customers_cli(env: dict[str, str], *args: str) -> str:
    """Run ``customers ARGS`` and return what it printed on stdout (fail on a non-zero exit)."""
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"customers {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


class AppServer:
    """``customers serve`` for the browser tests, and its admin API for seeding data."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.serve = Serve(env).start()
        self.base = f"http://127.0.0.1:{self.serve.port}"
        self.api_key = customers_cli(env, "api-key", "create", "--title", "browser tests")

    def close(self) -> None:
        self.serve.close()

    def admin(self, method: str, path: str, body: Any = None, headers: dict | None = None) -> Any:
        """One admin API call (an admin JWT); its JSON body, after asserting a 200."""
        reply = self.serve.request(method, path, body, headers or admin_headers())
        assert reply.status == 200, (method, path, reply.status, reply.body)
        return reply.body

    def headers(self, path: str) -> Any:
        """The headers of ``GET path`` (a page or an asset: not JSON), after asserting a 200."""
        with urllib.request.urlopen(self.base + path, timeout=30) as response:
            assert response.status == 200, (path, response.status)
            return response.headers

    def customer(self, **fields: Any) -> dict[str, Any]:
        """Create a customer; return it."""
        return self.admin("POST", "/admin/customers", fields)["customer"]

    def group(self, name: str) -> dict[str, Any]:
        """Create a customer group; return it."""
        return self.admin("POST", "/admin/customer-groups", {"name": name})["customer_group"]

    def add_members(self, group_id: str, customer_ids: list[str]) -> None:
        """Put customers in a group."""
        self.admin("POST", f"/admin/customer-groups/{group_id}/customers", {"add": customer_ids})

    def read_customer(self, customer_id: str) -> dict[str, Any]:
        """A customer as stored, with its addresses and groups."""
        path = f"/admin/customers/{customer_id}?fields=*addresses,*groups"
        return self.admin("GET", path)["customer"]


@dataclass
class Tab:
    """One browser tab on the app; records what went wrong in the page."""

    page: Any  # playwright.sync_api.Page
    server: AppServer
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (status, url) of 4xx/5xx

    def __post_init__(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("response", self._response)

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.failed.append((response.status, response.url))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def open(self, path: str = "/app") -> None:
        """Load a URL of the app (as typed or pasted)."""
        self.page.goto(self.server.base + path)

    def sign_in(self, key: str | None = None, path: str = "/app") -> None:
        """Open ``path`` and sign in with ``key`` (the server's admin key) by pressing Enter."""
        self.open(path)
        field = self.page.get_by_label("API key")
        field.fill(key or self.server.api_key)
        field.press("Enter")
        self.page.get_by_role("button", name="Sign out").wait_for()

    def search_field(self) -> Any:
        """The lookup's search field."""
        return self.page.get_by_role("searchbox", name="Search customers")

    def type_query(self, text: str, *, settle: bool = True) -> None:
        """Type ``text`` into the search field key by key, as a person does; unless ``settle``
        is false, wait until the answer to the whole text is drawn (not a prefix's)."""
        self.search_field().press_sequentially(text, delay=20)
        if settle:
            self.settled()

    def settled(self) -> None:
        """Wait until the lookup has drawn the answer to what the field holds."""
        idle = "ul[aria-label='Matching customers']:not([aria-busy])"
        self.page.locator(idle).wait_for(state="attached")

    def results(self) -> Any:
        """The rows of the lookup's results."""
        return self.page.get_by_role("list", name="Matching customers").get_by_role("listitem")

    def path(self) -> str:
        """The current URL without the server part."""
        return self.page.url.removeprefix(self.server.base)

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        """Wait for a condition of the test's own (e.g. a route handler ran), letting Playwright
        deliver events meanwhile; fail after the tab's default timeout."""
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting until {what}"
            self.page.wait_for_timeout(20)


def open_tab(browser: Any, server: AppServer, **context_options: Any) -> Tab:
    """A new browser context (no shared storage) and its one tab."""
    options = {"viewport": {"width": 1440, "height": 900}, **context_options}
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    return Tab(context.new_page(), server)
