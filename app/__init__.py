"""The Customer Module service: a Medusa-compatible JSON API over MongoDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.config import Settings
    from app.webapp import CustomersFlask


def create_app(
    settings: Settings | None = None,
    *,
    search: bool = True,
    on_database_moved: Callable[[int, int], None] | None = None,
) -> CustomersFlask:
    """Create the API app that ``customers serve`` runs, started (close it with
    :func:`app.webapp.close_app`).

    The runtime behind it is :func:`app.bootstrap.build_runtime`'s: the search index serves the
    customer lists, and the sync indexer runs in this process unless ``CUSTOMERS_INDEXER=off``.
    ``search=False`` leaves the index out (MongoDB answers every list). Tests pass their own
    Settings.

    :raise RuntimeError: ``CUSTOMERS_ENV=production`` without a ``JWT_SECRET`` of its own
        (checked before anything starts).
    """
    from app import api, auth, bootstrap, logs, ratelimit
    from app.config import Settings
    from app.credentials import jwt_secret_for
    from app.webapp import CustomersFlask

    settings = settings or Settings.from_env()
    jwt_secret = jwt_secret_for(settings)
    runtime = bootstrap.build_runtime(settings, search=search, on_database_moved=on_database_moved)
    try:
        app = CustomersFlask(__name__, runtime)
        auth.init_app(app, jwt_secret)
        ratelimit.init_app(app, settings)
        logs.init_app(app)
        api.init_app(app, settings, runtime.registry)
        runtime.start()
    except BaseException:
        runtime.close()
        raise
    return app
