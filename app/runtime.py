"""One event loop per process, in a background thread, and the Flask app that uses it.

PyMongo's ``AsyncMongoClient`` belongs to the loop that opened it, and Flask's default async
bridge runs every ``async def`` view on a fresh loop (asgiref). So the app starts one loop
thread, connects the service on it, and :class:`CustomersFlask` overrides the documented
``async_to_sync`` hook to run every coroutine there. WSGI worker threads block on the result;
the loop multiplexes their MongoDB round trips.

The request coroutines on the loop are tracked (:class:`InFlight`), so that a shutdown whose
deadline passed can cancel them (:func:`cancel_requests`): each cancelled request, and each one
that starts afterwards, answers 503 ``unexpected_state`` ("shutting down") instead of hanging.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, current_app

if TYPE_CHECKING:
    from app.config import Settings
    from app.service import CustomerModuleService

__all__ = [
    "CustomersFlask",
    "InFlight",
    "LoopThread",
    "cancel_requests",
    "close_app",
    "get_service",
    "init_app",
    "run",
]

T = TypeVar("T")

LOOP = "customers.loop"
IN_FLIGHT = "customers.in_flight"
SERVICE = "customers.service"
SETTINGS = "customers.settings"
SHUTTING_DOWN = "The server is shutting down; retry the request."  # 503 of a cancelled request

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


class InFlight:
    """The request coroutines running on the loop, so that a shutdown can cancel them."""

    def __init__(self) -> None:
        self._futures: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()
        self._refusing = False

    def run(self, runner: LoopThread, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it; 503 if it is (or was) cancelled."""
        from app.errors import Unavailable

        with self._lock:
            if self._refusing:
                coro.close()
                raise Unavailable(SHUTTING_DOWN)
            future = asyncio.run_coroutine_threadsafe(coro, runner.loop)
            self._futures.add(future)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise Unavailable(SHUTTING_DOWN) from None
        finally:
            with self._lock:
                self._futures.discard(future)

    def cancel_all(self) -> int:
        """Cancel every running request coroutine and refuse new ones; return how many."""
        with self._lock:
            self._refusing = True
            futures = list(self._futures)
        return sum(future.cancel() for future in futures)


class CustomersFlask(Flask):
    """Flask whose async views and hooks run on the app's one event loop."""

    def async_to_sync(self, func: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
        """Run coroutines on the app's one loop instead of a new loop per call."""
        runner: LoopThread = self.extensions[LOOP]
        in_flight: InFlight = self.extensions[IN_FLIGHT]

        @functools.wraps(func)
        def run_on_loop(*args: Any, **kwargs: Any) -> Any:
            return in_flight.run(runner, func(*args, **kwargs))

        return run_on_loop


def init_app(
    app: Flask, settings: Settings, *, service: CustomerModuleService | None = None
) -> None:
    """Start the loop thread and connect the service on it (or adopt ``service``)."""
    runner = LoopThread()
    app.extensions[LOOP] = runner
    app.extensions[IN_FLIGHT] = InFlight()
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


def cancel_requests(app: Flask) -> int:
    """Cancel the app's requests still running on its loop (they answer 503); return how many.

    Requests that start afterwards answer 503 at once. For the end of a shutdown, when the
    in-flight requests had their time.
    """
    in_flight: InFlight | None = app.extensions.get(IN_FLIGHT)
    return in_flight.cancel_all() if in_flight is not None else 0


def get_service() -> CustomerModuleService:
    """The current app's service (use only from code running on its loop)."""
    return current_app.extensions[SERVICE]


def run(coro: Awaitable[T] | Coroutine[Any, Any, T], *, app: Flask | None = None) -> T:
    """Run ``coro`` on the app's loop from a sync caller (a WSGI thread, a test)."""
    runner: LoopThread = (app or current_app).extensions[LOOP]
    return runner.run(coro)  # type: ignore[arg-type]
