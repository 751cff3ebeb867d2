"""``/health``, ``/openapi.json`` and ``/docs``: no authentication."""

from __future__ import annotations

import asyncio

from flask import Blueprint, Response, current_app

from app.api import schemas as s
from app.api.openapi import build_spec, documented, render_docs
from app.runtime import get_service

bp = Blueprint("meta", __name__)

_SPEC = "customers.openapi"
PING_TIMEOUT = 2.0  # seconds before MongoDB counts as unavailable


def _spec() -> dict:
    spec = current_app.extensions.get(_SPEC)
    if spec is None:
        spec = current_app.extensions[_SPEC] = build_spec(current_app)
    return spec


@bp.get("/health")
@documented(
    summary="Liveness and MongoDB reachability",
    response=s.HealthResponse,
    tag="meta",
    responses={503: ("MongoDB does not answer", s.HealthResponse)},
)
async def health():
    """200 when MongoDB answers a ping, 503 otherwise."""
    try:
        await asyncio.wait_for(get_service().database.command("ping"), PING_TIMEOUT)
    except Exception:  # any failure means "not answering"
        return {"status": "degraded", "mongodb": "unavailable"}, 503
    return {"status": "ok", "mongodb": "ok"}


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this server."""
    return _spec()


@bp.get("/docs")
def docs():
    """A readable page generated from the OpenAPI document."""
    return Response(render_docs(_spec()), mimetype="text/html")
