"""One event loop per process, in a background thread, and the Flask app that uses it.

PyMongo's ``AsyncMongoClient`` belongs to the loop that opened it, and Flask's default async
bridge runs every ``async def`` view on a fresh loop (asgiref). So the app starts one loop
thread, connects the service on it, and :class:`CustomersFlask` overrides the documented
``async_to_sync`` hook to run every coroutine there. WSGI worker threads block on the result;
the loop multiplexes their MongoDB round trips.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, current_app

if TYPE_CHECKING:
    from app.config import Settings
    from app.service import CustomerModuleService

__all__ = ["CustomersFlask", "LoopThread", "close_app", "get_service", "init_app", "run"]

T = TypeVar("T")

LOOP = "customers.loop"
SERVICE = "customers.service"
SETTINGS = "customers.settings"

log = logging.getLogger("customers.runtime")


class LoopThread:
    """An asyncio loop running forever in a daemon thread."""

    def __init__(self, name: str = "customers-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the loop and join the thread."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


class CustomersFlask(Flask):
    """Flask whose async views and hooks run on the app's one event loop."""

    def async_to_sync(self, func: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
        """Run coroutines on the app's one loop instead of a new loop per call."""
        runner: LoopThread = self.extensions[LOOP]

        @functools.wraps(func)
        def run_on_loop(*args: Any, **kwargs: Any) -> Any:
            return runner.run(func(*args, **kwargs))

        return run_on_loop


def init_app(
    app: Flask, settings: Settings, *, service: CustomerModuleService | None = None
) -> None:
    """Start the loop thread and connect the service on it (or adopt ``service``)."""
    runner = LoopThread()
    app.extensions[LOOP] = runner
    if service is None:
        from app.db import mongodb_uri_for
        from app.service import CustomerModuleService

        uri = mongodb_uri_for(settings)
        try:
            service = runner.run(
                CustomerModuleService.connect(
                    uri,
                    database=settings.mongodb_database,
                    search_concurrency=settings.search_concurrency,
                    search_budget=settings.search_budget_seconds,
                )
            )
        except BaseException:
            runner.stop()
            raise
    app.extensions[SERVICE] = service


def close_app(app: Flask) -> None:
    """Close the service and stop the loop thread (tests and ``serve`` on exit)."""
    runner: LoopThread | None = app.extensions.pop(LOOP, None)
    service = app.extensions.pop(SERVICE, None)
    if runner is None:
        return
    if service is not None:
        try:
            runner.run(service.close(), timeout=10)
        except Exception:  # closing is best effort
            log.warning("closing the service failed", exc_info=True)
    runner.stop()


def get_service() -> CustomerModuleService:
    """The current app's service (use only from code running on its loop)."""
    return current_app.extensions[SERVICE]


def run(coro: Awaitable[T] | Coroutine[Any, Any, T], *, app: Flask | None = None) -> T:
    """Run ``coro`` on the app's loop from a sync caller (a WSGI thread, a test)."""
    runner: LoopThread = (app or current_app).extensions[LOOP]
    return runner.run(coro)  # type: ignore[arg-type]
