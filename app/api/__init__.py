"""The HTTP API: blueprints, error handlers, CORS.

``BLUEPRINTS`` is the registry: one module per resource, each with a ``bp``; a new resource
adds its blueprint here. Werkzeug prefers static path segments to variables, so the ranked
``/admin/customers/search`` never reads as a customer id. Mark views with
``app.api.openapi.documented`` to have them in ``/openapi.json``.

The admin web app under ``/app`` is served with :data:`PAGE_HEADERS` (a strict
Content-Security-Policy and friends): they are added by path prefix here, where every
blueprint is registered, so any blueprint serving ``/app`` gets them without opting in.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from flask_cors import CORS
from prometheus_client import CollectorRegistry

from app import metrics, web
from app.api import (
    admin_addresses,
    admin_customers,
    admin_duplicates,
    admin_exports,
    admin_groups,
    admin_imports,
    admin_me,
    admin_merge,
    admin_privacy,
    admin_search,
    error_handlers,
    meta,
    store_customers,
)
from app.api.parsing import check_path_ids
from app.config import Settings
from app.service.admission import forget_arrival, note_arrival
from app.serving import RECEIVED_ENVIRON

__all__ = ["BLUEPRINTS", "MAX_BODY_BYTES", "PAGE_HEADERS", "PAGE_PREFIX", "init_app"]

MAX_BODY_BYTES = 1024 * 1024  # larger request bodies are 413

PAGE_PREFIX = "/app"  # the admin web app: its page, its assets, and its 404s
PAGE_HEADERS = {
    # Only our own scripts, styles and API calls; no inline code (customer data rendered as
    # markup could not run), never framed (clickjacking), no <base> or foreign form targets.
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",  # page URLs hold searches (personal data)
    "X-Content-Type-Options": "nosniff",
}

BLUEPRINTS: list[Blueprint] = [
    meta.bp,
    admin_me.bp,
    admin_search.bp,
    admin_duplicates.bp,  # before admin_customers: /duplicates/scans is not a customer id
    admin_exports.bp,
    admin_imports.bp,
    admin_customers.bp,
    admin_privacy.bp,
    admin_addresses.bp,
    admin_merge.bp,
    admin_groups.bp,
    store_customers.bp,
    web.bp,  # the admin web app at /app (its own package: page, modules, styles)
]


_ARRIVAL = "customers.arrival"  # flask.g key of the note_arrival token


def _note_arrival() -> None:
    """Searches' time budgets count from when ``serve`` received the request (queue included)."""
    setattr(g, _ARRIVAL, note_arrival(request.environ.get(RECEIVED_ENVIRON)))


def _forget_arrival(exc: BaseException | None) -> None:
    token = g.pop(_ARRIVAL, None)
    if token is not None:
        forget_arrival(token)


def _page_headers(response: Response) -> Response:
    """Add :data:`PAGE_HEADERS` to every answer under :data:`PAGE_PREFIX` (errors too)."""
    path = request.path
    if path == PAGE_PREFIX or path.startswith(PAGE_PREFIX + "/"):
        response.headers.update(PAGE_HEADERS)
    return response


def init_app(app: Flask, settings: Settings, registry: CollectorRegistry) -> None:
    """Register the blueprints, the JSON error handlers, the request metrics (on ``registry``)
    and CORS on ``app``."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]  # Flask's default provider has it
    app.json.compact = True  # type: ignore[attr-defined]  # likewise
    error_handlers.init_app(app)
    app.before_request(_note_arrival)
    app.teardown_request(_forget_arrival)
    app.after_request(_page_headers)
    metrics.init_app(app, registry)  # request counts and latencies by route (GET /metrics)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
        # After the blueprint's own checks (authentication), so 401 still comes first.
        app.before_request_funcs.setdefault(bp.name, []).append(check_path_ids)
    resources: dict[str | re.Pattern[str], dict[str, Any]] = {}
    if settings.admin_cors:
        resources[r"/admin/*"] = {"origins": list(settings.admin_cors)}
    if settings.store_cors:
        resources[r"/store/*"] = {"origins": list(settings.store_cors)}
    if resources:
        CORS(
            app,
            resources=resources,
            supports_credentials=True,
            allow_headers=["Authorization", "Content-Type", "If-Match", "x-publishable-api-key"],
            expose_headers=["ETag"],  # so that a page can send it back as If-Match
            max_age=600,
        )
