"""The HTTP API: blueprints, error handlers, CORS.

``BLUEPRINTS`` is the registry: one module per resource, each with a ``bp``. A new resource
(e.g. the ranked ``GET /admin/customers/search`` of the search index) adds its module path here,
or passes it to ``create_app(extra_blueprints=...)``. Werkzeug prefers static path segments to
variables, so ``/admin/customers/search`` never reads as a customer id. Mark its views with
``app.api.openapi.documented`` to have them in ``/openapi.json``.
"""

from __future__ import annotations

import importlib

from flask import Flask, g, request
from flask_cors import CORS

from app import metrics
from app.api import errors
from app.api.validation import check_path_ids
from app.service.admission import forget_arrival, note_arrival
from app.serving import RECEIVED_ENVIRON

__all__ = ["BLUEPRINTS", "MAX_BODY_BYTES", "init_app"]

MAX_BODY_BYTES = 1024 * 1024  # larger request bodies are 413

BLUEPRINTS = [
    "app.api.meta",
    "app.api.admin_search",
    "app.api.admin_customers",
    "app.api.admin_addresses",
    "app.api.admin_groups",
    "app.api.store_customers",
]


_ARRIVAL = "customers.arrival"  # flask.g key of the note_arrival token


def _note_arrival() -> None:
    """Searches' time budgets count from when ``serve`` received the request (queue included)."""
    setattr(g, _ARRIVAL, note_arrival(request.environ.get(RECEIVED_ENVIRON)))


def _forget_arrival(exc: BaseException | None) -> None:
    token = g.pop(_ARRIVAL, None)
    if token is not None:
        forget_arrival(token)


def init_app(app: Flask, *, extra_blueprints: list[str] | tuple[str, ...] = ()) -> None:
    """Register the blueprints, the JSON error handlers and CORS on ``app``."""
    from app.runtime import SETTINGS

    settings = app.extensions[SETTINGS]
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # keep Medusa's field order
    app.json.compact = True
    errors.init_app(app)
    app.before_request(_note_arrival)
    app.teardown_request(_forget_arrival)
    metrics.init_app(app)  # request counts and latencies by route template (GET /metrics)
    for name in [*extra_blueprints, *BLUEPRINTS]:
        bp = importlib.import_module(name).bp
        app.register_blueprint(bp)
        # After the blueprint's own checks (authentication), so 401 still comes first.
        app.before_request_funcs.setdefault(bp.name, []).append(check_path_ids)
    resources = {}
    if settings.admin_cors:
        resources[r"/admin/*"] = {"origins": list(settings.admin_cors)}
    if settings.store_cors:
        resources[r"/store/*"] = {"origins": list(settings.store_cors)}
    if resources:
        CORS(
            app,
            resources=resources,
            supports_credentials=True,
            allow_headers=["Authorization", "Content-Type", "x-publishable-api-key"],
            max_age=600,
        )
