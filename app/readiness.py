"""Readiness: may this process get traffic now? (``GET /health/ready``)

Three checks run concurrently, each within :data:`CHECK_TIMEOUT` seconds:

- ``mongodb``: a ping through the service's client;
- ``index`` and ``indexer``: the search side's (:mod:`indexers.health`), which
  :mod:`app.bootstrap` adds when the runtime has the search index; a process without them is
  not ready, since its customer lists would all fall back to MongoDB.

Each check answers ``{"ok": bool, "error"?: str, ...details}``. The report is ready when every
check is ok. Liveness (``GET /health``) is separate and checks nothing but the process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

__all__ = ["CHECK_TIMEOUT", "REQUIRED", "Check", "ping", "run_checks"]

CHECK_TIMEOUT = 2.0  # seconds a check may take before it counts as failed
REQUIRED = ("mongodb", "index", "indexer")

Check = Callable[[], Awaitable[dict[str, Any]]]


def ping(database: Any) -> Check:
    """A check that MongoDB answers a ping."""

    async def check() -> dict[str, Any]:
        started = time.perf_counter()
        await database.command("ping")
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}

    return check


async def _run(check: Check | None) -> dict[str, Any]:
    if check is None:
        return {"ok": False, "error": "not attached in this process"}
    try:
        return await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {CHECK_TIMEOUT:g} s"}
    except Exception as exc:  # any failure means "not ready"; the class name says which
        return {"ok": False, "error": f"failed ({type(exc).__name__})"}


async def run_checks(checks: Mapping[str, Check]) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Run the :data:`REQUIRED` checks (and any other given) concurrently; (ready, results)."""
    names = list(dict.fromkeys([*REQUIRED, *checks]))
    results = await asyncio.gather(*(_run(checks.get(name)) for name in names))
    report = dict(zip(names, results, strict=True))
    return all(result.get("ok") for result in results), report
