"""Operations and documentation: ``/health``, ``/health/ready``, ``/metrics``, ``/openapi.json``,
``/docs``.

``/health`` is liveness: it answers from the process itself (a sync view: no event loop, no
database, no hook that waits), so it never queues behind searches or a slow MongoDB.
``/health/ready`` is readiness (:mod:`app.readiness`): MongoDB, the search index and the
indexer's lag. ``/metrics`` is the process's Prometheus registry (:mod:`app.metrics`), for
admins only here; ``METRICS_PORT`` serves it without auth on a listener of its own.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app
from flask.typing import ResponseReturnValue

from app import metrics as process_metrics
from app import readiness
from app.api import schemas as s
from app.api.openapi import build_spec, documented, render_docs
from app.auth import require_admin
from app.webapp import runtime_of

bp = Blueprint("meta", __name__)

_SPEC = "customers.openapi"


def _spec() -> dict[str, Any]:
    spec = current_app.extensions.get(_SPEC)
    if spec is None:
        spec = current_app.extensions[_SPEC] = build_spec(current_app)
    return spec


@bp.get("/health")
@documented(summary="Liveness: the process answers", response=s.HealthResponse, tag="meta")
def health() -> dict[str, str]:
    """200 while the process can answer HTTP at all; checks nothing else (see /health/ready)."""
    return {"status": "ok"}


@bp.get("/health/ready")
@documented(
    summary="Readiness: MongoDB, search index, indexer lag",
    response=s.ReadinessResponse,
    tag="meta",
    responses={503: ("Not ready: the same report, with `type` and `message`", s.ReadinessResponse)},
)
async def ready() -> ResponseReturnValue:
    """200 when MongoDB answers, the search index serves and the indexer keeps up; else 503.

    The 503 body is the same report plus ``type`` (``unexpected_state``) and ``message``.
    """
    is_ready, report = await readiness.run_checks(runtime_of(current_app).checks)
    if is_ready:
        return {"status": "ready", "checks": report}
    failing = "; ".join(
        f"{name}: {r.get('error', 'failed')}" for name, r in report.items() if not r["ok"]
    )
    return {
        "type": "unexpected_state",
        "message": f"Not ready: {failing}",
        "status": "not_ready",
        "checks": report,
    }, 503


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of this process (admin credentials, as for /admin routes)."""
    require_admin()
    body, content_type = process_metrics.exposition(process_metrics.registry_of(current_app))
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of this server."""
    return _spec()


@bp.get("/docs")
def docs() -> Response:
    """A readable page generated from the OpenAPI document."""
    return Response(render_docs(_spec()), mimetype="text/html")
