"""Shared fixtures. Tests are plain sync functions; run coroutines with ``asyncio.run``.

Base fixtures (this block):

- ``mongodb_uri`` (session): one ephemeral SecantusDB server for the whole run, or the server
  named by ``TEST_MONGODB_URI``;
- ``database_name``: a fresh ``test_<uuid8>`` database per test, dropped afterwards;
- an autouse guard that hides the developer's configuration from every test.

- ``service``: a ``CustomerModuleService`` on that database, whose methods run synchronously
  on a private event loop (``service.gather`` runs coroutines concurrently, ``service.aio`` is
  the async service).

Add further fixtures below the base block.
"""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from app.embedded import EmbeddedServer
from app.service import CustomerModuleService

# Variables app.config reads (CUSTOMERS_* are matched by prefix). ELASTICSEARCH_* survive for
# tests marked `elasticsearch`, which need a real server.
_HIDDEN_ENV = ("MONGODB_URI", "MONGODB_DATABASE", "JWT_SECRET", "ADMIN_CORS", "STORE_CORS")
_ELASTICSEARCH_ENV = ("ELASTICSEARCH_URL", "ELASTICSEARCH_INDEX")


@pytest.fixture(autouse=True)
def _isolated_env(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Hide MONGODB_URI, CUSTOMERS_* etc., so a developer's settings never leak into a test."""
    hidden = [*_HIDDEN_ENV, *(name for name in os.environ if name.startswith("CUSTOMERS_"))]
    if request.node.get_closest_marker("elasticsearch") is None:
        hidden.extend(_ELASTICSEARCH_ENV)
    for name in hidden:
        monkeypatch.delenv(name, raising=False)
    # The default data dir then lies under tmp_path, never in the developer's home.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def mongodb_uri() -> Iterator[str]:
    """Return the URI of the test server: TEST_MONGODB_URI, or one ephemeral SecantusDB."""
    external = os.environ.get("TEST_MONGODB_URI")
    if external:
        yield external
        return
    with EmbeddedServer.ephemeral() as server:
        yield server.uri


@pytest.fixture
def database_name(mongodb_uri: str) -> Iterator[str]:
    """Return a database name of this test's own; the database is dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:8]}"
    yield name
    with MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(name)


# --- the service, run synchronously (tests are plain sync functions) ----------------------


class SyncService:
    """Run ``CustomerModuleService`` methods synchronously on a private event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, aio: CustomerModuleService) -> None:
        self.loop = loop
        self.aio = aio

    def run(self, awaitable: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(awaitable)

    def gather(self, *awaitables: Awaitable[Any]) -> list[Any]:
        """Run awaitables concurrently; exceptions are returned, not raised."""

        async def together() -> list[Any]:
            return await asyncio.gather(*awaitables, return_exceptions=True)

        return self.run(together())

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.aio, name)
        if not callable(method):
            return method

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            return self.run(method(*args, **kwargs))

        return call


@pytest.fixture
def service(mongodb_uri: str, database_name: str) -> Iterator[SyncService]:
    """A connected service on a fresh database."""
    loop = asyncio.new_event_loop()
    aio = loop.run_until_complete(CustomerModuleService.connect(mongodb_uri, database_name))
    try:
        yield SyncService(loop, aio)
    finally:
        loop.run_until_complete(aio.close())
        loop.close()
