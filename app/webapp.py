"""The Flask side of a runtime: async views on its one loop, and the requests in flight.

Flask's default async bridge runs every ``async def`` view on a fresh loop (asgiref), but the
service's MongoDB client belongs to the runtime's loop (:mod:`app.runtime`). So
:class:`CustomersFlask` overrides the documented ``async_to_sync`` hook to run every coroutine
there; WSGI worker threads block on the result while the loop multiplexes their round trips.

The request coroutines on the loop are tracked (:class:`InFlight`), so that a shutdown whose
deadline passed can cancel them (:func:`cancel_requests`): each cancelled request, and each one
that starts afterwards, answers 503 ``unexpected_state`` ("shutting down") instead of hanging.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, current_app

from app.errors import Unavailable
from app.runtime import LoopThread, Runtime

if TYPE_CHECKING:
    from app.jobs import Jobs
    from app.service import CustomerModuleService

__all__ = [
    "CustomersFlask",
    "InFlight",
    "cancel_requests",
    "close_app",
    "get_jobs",
    "get_service",
    "run",
    "runtime_of",
]

T = TypeVar("T")

RUNTIME = "customers.runtime"  # app.extensions key of the app's Runtime
SHUTTING_DOWN = "The server is shutting down; retry the request."  # 503 of a cancelled request


class InFlight:
    """The request coroutines running on the loop, so that a shutdown can cancel them."""

    def __init__(self) -> None:
        self._futures: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()
        self._refusing = False

    def run(self, runner: LoopThread, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it; 503 if it is (or was) cancelled."""
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
    """Flask whose async views and hooks run on its runtime's one event loop."""

    def __init__(self, import_name: str, runtime: Runtime) -> None:
        super().__init__(import_name)
        self.extensions[RUNTIME] = runtime
        self.in_flight = InFlight()

    def async_to_sync(self, func: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
        """Run coroutines on the runtime's loop instead of a new loop per call."""
        runner = runtime_of(self).loop
        in_flight = self.in_flight

        @functools.wraps(func)
        def run_on_loop(*args: Any, **kwargs: Any) -> Any:
            return in_flight.run(runner, func(*args, **kwargs))

        return run_on_loop


def runtime_of(app: Flask) -> Runtime:
    """The runtime ``app`` serves."""
    runtime: Runtime = app.extensions[RUNTIME]
    return runtime


def get_service() -> CustomerModuleService:
    """The current app's service (use only from code running on its loop)."""
    return runtime_of(current_app).service


def get_jobs() -> Jobs:
    """The current app's background jobs (:mod:`app.jobs`)."""
    jobs = runtime_of(current_app).jobs
    if jobs is None:  # every runtime build_runtime makes has them
        raise Unavailable("Background jobs are not available in this process.")
    return jobs


def run(coro: Awaitable[T], *, app: Flask | None = None) -> T:
    """Run ``coro`` on the app's loop from a sync caller (a WSGI thread, a test)."""
    return runtime_of(app or current_app).run(coro)


def cancel_requests(app: CustomersFlask) -> int:
    """Cancel the app's requests still running on its loop (they answer 503); return how many.

    Requests that start afterwards answer 503 at once. For the end of a shutdown, when the
    in-flight requests had their time.
    """
    return app.in_flight.cancel_all()


def close_app(app: Flask) -> None:
    """Stop everything the app's runtime runs (tests, and ``serve`` on exit)."""
    runtime_of(app).close()
