"""Service fixtures: a ``CustomerModuleService`` on this test's own database.

Tests are plain sync functions. ``service`` is a proxy whose methods run the real async methods
to completion on one event loop per test; ``service.gather(...)`` runs coroutines concurrently
(for the concurrency invariants) and ``service.aio`` is the async service itself.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Iterator
from typing import Any

import pytest

from app.service import CustomerModuleService


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
