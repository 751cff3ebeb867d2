"""``customers api-key create|list|revoke`` and ``customers token``: credentials."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click

from app.config import Settings
from app.credentials import ADMIN, SCOPES

if TYPE_CHECKING:
    from app.credentials import ApiKeys

__all__ = ["api_key", "token"]

T = TypeVar("T")

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_LONGEST = timedelta(days=100 * 365)  # an expiry further away than this is a typo
_DURATION = re.compile(r"\s*([0-9]{1,9})\s*([smhd])\s*", re.IGNORECASE)


class Duration(click.ParamType):
    """A duration such as ``90s``, ``15m``, ``12h`` or ``30d`` (a number and its unit)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, timedelta):
            return value
        match = _DURATION.fullmatch(str(value))
        if match is None or int(match[1]) == 0:
            self.fail(f"{value!r} is not a positive duration like 90s, 15m, 12h or 30d", param, ctx)
        duration = timedelta(**{_UNITS[match[2].lower()]: int(match[1])})
        if duration > _LONGEST:
            self.fail(f"{value!r} is more than {_LONGEST.days} days", param, ctx)
        return duration


def _with_keys(work: Callable[[ApiKeys], Awaitable[T]]) -> T:
    """Run ``work(keys)`` on the ``api_keys`` collection of the configured database."""
    from app.bootstrap import connected
    from app.cli.context import run_in
    from app.credentials import ApiKeys

    async def on(database: Any) -> T:
        return await work(ApiKeys(database))

    return run_in(connected(Settings.from_env()), on)


@click.group("api-key")
def api_key() -> None:
    """Secret API keys for the admin API."""


@api_key.command("create")
@click.option("--title", required=True, help="What the key is for.")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default=ADMIN,
    show_default=True,
    help="admin: every admin route; read: GET routes only (support staff).",
)
@click.option(
    "--expires-in", type=Duration(), help="Refuse the key after this long: 90s, 15m, 12h, 30d."
)
def api_key_create(title: str, scope: str, expires_in: timedelta | None) -> None:
    """Create a key and print its secret (shown only this once)."""
    record, secret = _with_keys(lambda keys: keys.create(title, scope=scope, expires_in=expires_in))
    until = f", expires {_when(record['expires_at'])}" if record["expires_at"] else ""
    click.echo(
        f"created {record['id']} ({title}; scope {scope}{until}); the secret is shown only once:",
        err=True,
    )
    click.echo(secret)


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


@api_key.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def api_key_list(as_json: bool) -> None:
    """List keys (never their secrets)."""
    keys = _with_keys(lambda keys: keys.list_keys())
    if as_json:
        click.echo(json.dumps(keys, default=str, indent=2))
        return
    for key in keys:
        state = f"revoked {_when(key['revoked_at'])}" if key["revoked_at"] else "active"
        expiry = f"expires {_when(key['expires_at'])}" if key["expires_at"] else "no expiry"
        click.echo(
            f"{key['id']}  {key['redacted']}  {key['scope']:<5}  {state:<24}  {expiry:<28}  "
            f"{key['title']}"
        )


@api_key.command("revoke")
@click.argument("key_id")
def api_key_revoke(key_id: str) -> None:
    """Revoke a key (servers notice within a few seconds)."""
    from app.errors import CustomerModuleError

    try:
        _with_keys(lambda keys: keys.revoke(key_id))
    except CustomerModuleError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"revoked {key_id}")


@click.command()
@click.option("--customer", "customer_id", help="Token of an existing customer (cus_...).")
@click.option("--register", "email", help="Registration token for a new customer.")
@click.option("--user", "user_id", help="Admin user token (actor_type user).")
@click.option("--expires-in", default=24 * 3600, show_default=True, help="Seconds.")
def token(customer_id: str | None, email: str | None, user_id: str | None, expires_in: int) -> None:
    """Mint a development JWT signed with JWT_SECRET."""
    from app.credentials import jwt_secret_for, mint_token

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
