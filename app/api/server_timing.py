"""``Server-Timing`` on a blueprint's routes: where the milliseconds of a request go.

:func:`measure` wraps a blueprint's authentication and starts :mod:`app.timing` steps before
it; the steps the request went through (``auth``, ``parse``, ``freshness``, ``engine``,
``hydrate``, ``serialise``, …) are sent back in the standard ``Server-Timing`` header with
``app``, the whole time from the first hook to the response, and ``rest`` (``app`` minus the
named steps: routing, the service's own work, Flask's JSON encoding). The time spent before
Flask (the HTTP server, WSGI) is what a client measures minus ``app``:
``scripts/bench_list_steps.py`` prints it as ``http``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from flask import Blueprint, Response, g

from app import timing

__all__ = ["measure"]

_STEPS = "customers_steps"  # flask.g: the request's (Steps, context token)


def measure(bp: Blueprint, authenticate: Callable[[], None]) -> None:
    """Measure the steps of ``bp``'s requests, ``authenticate`` (its ``before_request``
    authentication) being the first."""
    bp.before_request(_begin)
    bp.before_request(_timed_auth(authenticate))
    bp.after_request(_header)
    bp.teardown_request(_end)


def _begin() -> None:
    setattr(g, _STEPS, timing.begin())


def _timed_auth(authenticate: Callable[[], None]) -> Callable[[], None]:
    @functools.wraps(authenticate)
    def auth() -> None:
        with timing.step("auth"):
            authenticate()

    return auth


def _header(response: Response) -> Response:
    began = g.get(_STEPS)
    if began is not None:
        steps = began[0]
        total = (time.perf_counter() - steps.started) * 1000
        response.headers["Server-Timing"] = steps.header(
            rest=max(total - sum(steps.ms.values()), 0.0), app=total
        )
    return response


def _end(_exc: BaseException | None) -> None:
    began = g.pop(_STEPS, None)
    if began is not None:
        timing.end(began[1])
