"""A test-only route that stays in flight as long as asked: ``GET /test/slow?seconds=N``
(``&blocking=1``: in a worker thread, like a tantivy search, which no cancel can stop).

Registered in a ``customers serve`` subprocess by :mod:`tests.api.serve_support`; it awaits on
the app's event loop like every real async view, so a shutdown sees an honest in-flight request.
It prints :data:`STARTED` when it begins, so a test knows the request is in flight.
"""

from __future__ import annotations

import asyncio
import time

from flask import Blueprint, request

bp = Blueprint("test_slow", __name__)

STARTED = "test: slow request started"


@bp.get("/test/slow")
async def slow() -> dict[str, float]:
    """Answer after ``seconds`` (default 1)."""
    seconds = float(request.args.get("seconds", "1"))
    print(STARTED, flush=True)
    if request.args.get("blocking"):
        await asyncio.to_thread(time.sleep, seconds)
    else:
        await asyncio.sleep(seconds)
    return {"slept": seconds}
