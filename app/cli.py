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
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from app.config import Settings

T = TypeVar("T")

DEFAULT_THREADS = 8  # waitress worker threads; each blocks on the one event loop

log = logging.getLogger("customers.cli")


@click.group()
def cli() -> None:
    """Customer Module service."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=9000, show_default=True, type=int, help="TCP port.")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=int)
def serve(host: str, port: int, threads: int) -> None:
    """Run the API with waitress (MongoDB: MONGODB_URI, or the embedded server)."""
    import waitress

    from app import create_app, metrics, runtime
    from app import logging as request_logging

    settings = Settings.from_env()
    request_logging.configure(settings.log_level)
    try:
        app = create_app(settings)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    try:  # METRICS_PORT: /metrics without auth on a listener of its own
        stop_metrics = metrics.start_metrics_server(
            metrics.registry_of(app), settings.metrics_port, host=host
        )
    except RuntimeError as exc:
        runtime.close_app(app)
        raise click.ClickException(str(exc)) from None
    stop_extras = [stop_metrics, *_start_serve_extensions(app, settings)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the cleanup below
    log.info("serving", extra={"host": host, "port": port, "threads": threads})
    click.echo(f"customers: listening on http://{host}:{port} (docs: /docs)", err=True)
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="customers")
    except KeyboardInterrupt:
        pass
    finally:
        for stop in stop_extras:
            stop()
        runtime.close_app(app)


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
