"""``customers serve``: the API under waitress, started and stopped in the right order.

Start: settings, the production secret and the data dir are checked, the port is bound (a taken
port is one line before the database starts), then :func:`app.create_app` builds the whole
runtime (database, search, the in-process indexer) and the optional metrics listener starts.
Stop (SIGTERM/SIGINT, :mod:`app.serving`): the listener closes, requests in flight drain, then
the runtime closes (the indexer saves its checkpoint, the clients close, the embedded MongoDB
stops if no other process uses it).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from app.config import Settings

if TYPE_CHECKING:
    from app.serving import HttpServer, StopRequest
    from app.webapp import CustomersFlask

__all__ = ["EXIT_RESTART", "serve"]

DEFAULT_THREADS = 8  # waitress worker threads; each blocks on the one event loop
EXIT_RESTART = 75  # EX_TEMPFAIL: stopped so that a restart can fix it (see `serve`)

log = logging.getLogger("customers.cli")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=9000, show_default=True, type=int, help="TCP port.")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=click.IntRange(1))
def serve(host: str, port: int, threads: int) -> None:
    """Run the API with waitress (MongoDB: MONGODB_URI, or the embedded server).

    SIGTERM/SIGINT stop it cleanly: no new connections, requests in flight finish (until
    CUSTOMERS_SHUTDOWN_TIMEOUT, then they are cancelled with 503), the indexer saves its
    checkpoint, the embedded MongoDB stops if no other process uses it; exit status 0. A second
    signal exits at once (status 1). Startup errors are one line and a non-zero status. Status
    75: the embedded MongoDB had to be restarted on another port; a restart reconnects.
    """
    from app import logs, serving
    from app.webapp import close_app

    settings = Settings.from_env()
    logs.configure(settings.log_level)
    stop = serving.StopRequest()
    with serving.handle_signals(stop):
        _check_production_secret(settings)
        _check_data_dir(settings)
        with _bind(host, port, threads) as http:
            app = _create_app(settings, stop)
            try:
                stop_metrics = _start_metrics(app, settings, host)
                try:
                    _serve(app, http, stop, settings, threads)
                finally:
                    stop_metrics()
            finally:
                close_app(app)
    _exit(stop.status)


def _check_production_secret(settings: Settings) -> None:
    """In production, refuse a missing or default JWT_SECRET before anything starts."""
    from app.credentials import jwt_secret_for

    if settings.is_production:
        try:
            jwt_secret_for(settings)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None


def _check_data_dir(settings: Settings) -> None:
    """Fail now, in one line, if the data dir is needed (embedded MongoDB or tantivy) and
    cannot be written."""
    if settings.mongodb_uri and settings.elasticsearch_url:
        return
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise click.ClickException(
            f"CUSTOMERS_DATA_DIR {path} is not a writable directory: {reason}"
        ) from None


def _bind(host: str, port: int, threads: int) -> HttpServer:
    """Listen now, before the database starts: a taken port is a one-line error."""
    from app.serving import BindError, HttpServer

    try:
        return HttpServer(host, port, threads=threads)
    except BindError as exc:
        raise click.ClickException(str(exc)) from None


def _create_app(settings: Settings, stop: StopRequest) -> CustomersFlask:
    """Connect (starting the embedded MongoDB if needed); errors become one line.

    If the embedded MongoDB has to be restarted on another port, our clients cannot follow it
    there: stop with status 75, so that a supervisor restarts us onto the new port.
    """
    from pymongo.errors import ConfigurationError, ConnectionFailure

    from app import create_app
    from app.embedded import EmbeddedServerError

    def moved(old: int, new: int) -> None:
        stop.request(
            f"the embedded MongoDB moved from port {old} to {new}; restart to reconnect",
            EXIT_RESTART,
        )

    try:
        return create_app(settings, on_database_moved=moved)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    except EmbeddedServerError as exc:
        raise click.ClickException(exc.message.splitlines()[0].rstrip(":")) from None
    except ConnectionFailure as exc:
        raise click.ClickException(f"MongoDB is unreachable: {_driver_reason(exc)}") from None
    except ConfigurationError as exc:
        raise click.ClickException(f"MONGODB_URI is not usable: {_driver_reason(exc)}") from None


def _start_metrics(app: CustomersFlask, settings: Settings, host: str) -> Callable[[], None]:
    """METRICS_PORT: /metrics without auth on a listener of its own; a busy port is one line."""
    from app import metrics

    try:
        return metrics.start_metrics_server(
            metrics.registry_of(app), settings.metrics_port, host=host
        )
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


def _driver_reason(exc: Exception) -> str:
    """PyMongo's reason without its topology dump (which can run to many lines)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for cut in (" (configured timeouts", ", Timeout:"):
        text = text.split(cut)[0]
    return text[:300]


def _serve(
    app: CustomersFlask, http: HttpServer, stop: StopRequest, settings: Settings, threads: int
) -> None:
    """Say where we listen, serve until a stop is requested, drain."""
    from app.webapp import cancel_requests

    for host, port in http.addresses:
        log.info("serving", extra={"host": host, "port": port, "threads": threads})
        click.echo(f"customers: listening on http://{host}:{port} (docs: /docs)", err=True)
    http.serve(
        app,
        stop,
        shutdown_timeout=settings.shutdown_timeout,
        cancel=lambda: cancel_requests(app),
    )
    click.echo(f"customers: stopped ({stop.reason})", err=True)


def _exit(status: int) -> None:
    """End the process now that everything is closed and flushed.

    Python would otherwise wait at exit for worker threads still running the blocking call of
    a cancelled request (a tantivy search cannot be interrupted), however long it takes.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
