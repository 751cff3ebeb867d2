"""A test-only route that stays in flight as long as asked: ``GET /test/slow?seconds=N``.

Registered in a ``customers serve`` subprocess by :mod:`tests.api.serve_support`; it awaits on
the app's event loop like every real async view, so a shutdown sees an honest in-flight request.
"""

from __future__ import annotations

import asyncio

from flask import Blueprint, request

bp = Blueprint("test_slow", __name__)


@bp.get("/test/slow")
async def slow() -> dict[str, float]:
    """Answer after ``seconds`` (default 1)."""
    seconds = float(request.args.get("seconds", "1"))
    await asyncio.sleep(seconds)
    return {"slept": seconds}
