"""The ``customers`` command: serve the API, manage API keys, mint development tokens.

Other packages add command groups: if ``indexers.cli`` exists, its ``register(group)`` is
called (or, without one, every click command defined in it is added), so ``customers index``
and ``customers reindex`` live next to ``serve``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from app.config import ConfigError, Settings

if TYPE_CHECKING:
    from flask import Flask

    from app.serving import HttpServer, StopRequest

T = TypeVar("T")

DEFAULT_THREADS = 8  # waitress worker threads; each blocks on the one event loop
EXIT_RESTART = 75  # EX_TEMPFAIL: stopped so that a restart can fix it (see `serve`)

log = logging.getLogger("customers.cli")


class _Commands(click.Group):
    """The ``customers`` group: a configuration error ends any command with one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Commands)
def cli() -> None:
    """Customer Module service."""


@cli.command()
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
    from app import logging as request_logging
    from app import serving

    settings = Settings.from_env()
    request_logging.configure(settings.log_level)
    stop = serving.StopRequest()
    with serving.handle_signals(stop):
        _check_production_secret(settings)
        _check_data_dir(settings)
        with _bind(host, port, threads) as http:
            app = _create_app(settings)
            stop_extras: list[Callable[[], None]] = []
            try:
                stop_extras.append(_start_metrics(app, settings, host))
                stop_extras.extend(_start_serve_extensions(app, settings))
                _follow_database_moves(settings, stop)
                _serve(app, http, stop, settings, threads)
            finally:
                _shut_down(app, settings, stop_extras)
    _exit(stop.status)


def _check_production_secret(settings: Settings) -> None:
    """In production, refuse a missing or default JWT_SECRET before anything starts."""
    from app.auth import jwt_secret_for

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


def _create_app(settings: Settings) -> Flask:
    """Connect (starting the embedded MongoDB if needed); errors become one line."""
    from pymongo.errors import ConfigurationError, ConnectionFailure

    from app import create_app
    from app.embedded import EmbeddedServerError

    try:
        return create_app(settings)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    except EmbeddedServerError as exc:
        raise click.ClickException(exc.message.splitlines()[0].rstrip(":")) from None
    except ConnectionFailure as exc:
        raise click.ClickException(f"MongoDB is unreachable: {_driver_reason(exc)}") from None
    except ConfigurationError as exc:
        raise click.ClickException(f"MONGODB_URI is not usable: {_driver_reason(exc)}") from None


def _start_metrics(app: Flask, settings: Settings, host: str) -> Callable[[], None]:
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


def _follow_database_moves(settings: Settings, stop: StopRequest) -> None:
    """Stop (status 75, so that a supervisor restarts us) if the embedded MongoDB had to be
    restarted on another port: our clients cannot follow it there."""
    from app.db import shared_server

    server = shared_server(settings)
    if server is not None:
        server.on_moved = lambda old, new: stop.request(
            f"the embedded MongoDB moved from port {old} to {new}; restart to reconnect",
            EXIT_RESTART,
        )


def _serve(
    app: Flask, http: HttpServer, stop: StopRequest, settings: Settings, threads: int
) -> None:
    """Say where we listen, serve until a stop is requested, drain."""
    from app import runtime

    for host, port in http.addresses:
        log.info("serving", extra={"host": host, "port": port, "threads": threads})
        click.echo(f"customers: listening on http://{host}:{port} (docs: /docs)", err=True)
    http.serve(
        app,
        stop,
        shutdown_timeout=settings.shutdown_timeout,
        cancel=lambda: runtime.cancel_requests(app),
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


def _shut_down(app: Flask, settings: Settings, stop_extras: list[Callable[[], None]]) -> None:
    """Stop the indexer (it saves its checkpoint), close the clients, leave the database."""
    from app import runtime
    from app.db import release_shared_server

    for stop_extra in stop_extras:
        stop_extra()
    runtime.close_app(app)
    release_shared_server(settings)


def _with_database(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(database)`` on a fresh loop with a client of its own."""
    from app.db import close_client, open_client

    settings = Settings.from_env()

    async def main() -> T:
        client, server = await open_client(settings)
        try:
            return await work(client[settings.mongodb_database])
        finally:
            await close_client(client, server)

    return asyncio.run(main())


@cli.group("api-key")
def api_key() -> None:
    """Secret API keys for the admin API."""


@api_key.command("create")
@click.option("--title", required=True, help="What the key is for.")
def api_key_create(title: str) -> None:
    """Create a key and print its secret (shown only this once)."""
    from app.auth import ApiKeys

    record, secret = _with_database(lambda db: ApiKeys(db).create(title))
    click.echo(f"created {record['id']} ({title}); the secret is shown only once:", err=True)
    click.echo(secret)


@api_key.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def api_key_list(as_json: bool) -> None:
    """List keys (never their secrets)."""
    from app.auth import ApiKeys

    keys = _with_database(lambda db: ApiKeys(db).list_keys())
    if as_json:
        click.echo(json.dumps(keys, default=str, indent=2))
        return
    for key in keys:
        state = f"revoked {key['revoked_at']:%Y-%m-%d %H:%M}" if key["revoked_at"] else "active"
        click.echo(f"{key['id']}  {key['redacted']}  {state:<24}  {key['title']}")


@api_key.command("revoke")
@click.argument("key_id")
def api_key_revoke(key_id: str) -> None:
    """Revoke a key (servers notice within a few seconds)."""
    from app.auth import ApiKeys
    from app.errors import CustomerModuleError

    try:
        _with_database(lambda db: ApiKeys(db).revoke(key_id))
    except CustomerModuleError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"revoked {key_id}")


@cli.command()
@click.option("--customer", "customer_id", help="Token of an existing customer (cus_...).")
@click.option("--register", "email", help="Registration token for a new customer.")
@click.option("--user", "user_id", help="Admin user token (actor_type user).")
@click.option("--expires-in", default=24 * 3600, show_default=True, help="Seconds.")
def token(customer_id: str | None, email: str | None, user_id: str | None, expires_in: int) -> None:
    """Mint a development JWT signed with JWT_SECRET."""
    from app.auth import jwt_secret_for, mint_token

    if sum(x is not None for x in (customer_id, email, user_id)) != 1:
        raise click.UsageError("give exactly one of --customer, --register, --user")
    try:
        secret = jwt_secret_for(Settings.from_env())
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    if user_id is not None:
        claims: dict[str, Any] = {"actor_type": "user", "actor_id": user_id}
    elif customer_id is not None:
        claims = {"actor_type": "customer", "actor_id": customer_id}
    else:
        claims = {"actor_type": "customer", "actor_id": "", "user_metadata": {"email": email}}
    click.echo(mint_token(secret, expires_in=expires_in, **claims))


def _start_serve_extensions(app: Any, settings: Settings) -> list[Callable[[], None]]:
    """Let ``indexers.cli.on_serve(app, settings)`` start background work; return its stoppers."""
    module = _extension_module()
    hook = getattr(module, "on_serve", None) if module else None
    if not callable(hook):
        return []
    stop = hook(app, settings)
    return [stop] if callable(stop) else []


def _extension_module() -> Any:
    try:
        return importlib.import_module("indexers.cli")
    except ModuleNotFoundError as exc:
        if exc.name in ("indexers", "indexers.cli"):
            return None
        raise


def _register_extensions(group: click.Group) -> None:
    try:
        module = _extension_module()
    except Exception:  # a broken extension must not take `serve` down with it
        log.warning("could not load indexers.cli", exc_info=True)
        return
    if module is None:
        return
    register = getattr(module, "register", None)
    if callable(register):
        register(group)
        return
    for value in vars(module).values():
        if isinstance(value, click.Command) and value.name and value.name not in group.commands:
            group.add_command(value)


_register_extensions(cli)

if __name__ == "__main__":
    cli()
