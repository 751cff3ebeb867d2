"""The Customer Module service: a Medusa-compatible JSON API over MongoDB."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from app.config import Settings
    from app.service import CustomerModuleService


def create_app(
    settings: Settings | None = None,
    *,
    service: CustomerModuleService | None = None,
    extra_blueprints: tuple[str, ...] = (),
) -> Flask:
    """Create the API app. Tests pass their own Settings (or an already connected service)."""
    from app import api, auth, runtime
    from app import logging as request_logging
    from app.config import Settings

    settings = settings or Settings.from_env()
    app = runtime.CustomersFlask(__name__)
    app.extensions[runtime.SETTINGS] = settings
    auth.init_app(app, settings)  # JWT secret: refused in production when unset or the default
    runtime.init_app(app, settings, service=service)  # one loop thread; service connected on it
    try:
        auth.ensure_indexes(app)
        request_logging.init_app(app)
        api.init_app(app, extra_blueprints=extra_blueprints)
    except BaseException:
        runtime.close_app(app)
        raise
    return app
