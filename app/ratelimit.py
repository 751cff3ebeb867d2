"""Rate limits per client address: failed authentication, and store registration.

A client that keeps presenting bad credentials (guessing keys, replaying expired tokens) or
registers account after account gets 429 ``not_allowed`` with ``Retry-After`` instead of being
served at full speed.

- **Failed authentication** (every 401 on the admin and store routes) is counted when it fails
  and checked only then: a request with valid credentials is neither counted nor refused, so an
  admin's normal traffic never meets this limit, even from an address an attacker shares.
- **Registration** (``POST /store/customers``) counts every attempt, checked before anything
  else.

Counting uses the ``limits`` library's sliding-window counter (two counters per address, so no
burst of twice the limit at a window boundary, and memory that expires with the window) in
this process's memory: each process counts on its own. The client address is
``request.remote_addr``; behind a reverse proxy, put werkzeug's ``ProxyFix`` in front so that it
is the client's address rather than the proxy's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from app.errors import RateLimited

if TYPE_CHECKING:  # config validates the limits with parse_limit: a runtime import would loop
    from app.config import Settings

__all__ = [
    "OFF",
    "RateLimits",
    "count_failed_auth",
    "count_registration",
    "init_app",
    "parse_limit",
]

OFF = frozenset({"", "0", "off", "none", "false", "no"})  # values that turn a limit off

_EXTENSION = "customers.rate_limits"


def parse_limit(value: str | None, name: str) -> RateLimitItem | None:
    """``"30/minute"`` (``limits`` notation) → a limit; ``"off"`` or ``"0"`` → ``None``.

    :raises ValueError: naming the setting, for anything else.
    """
    text = (value or "").strip().lower()
    if text in OFF:
        return None
    try:
        return parse(text)
    except ValueError:
        raise ValueError(
            f"{name}: {value!r} is not a rate limit; use e.g. '30/minute', '5/10 seconds' or 'off'"
        ) from None


@dataclass(frozen=True)
class RateLimits:
    """The two limits of a process and the counters they share."""

    auth: RateLimitItem | None
    register: RateLimitItem | None
    limiter: SlidingWindowCounterRateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        """Parse ``rate_limit_auth`` / ``rate_limit_register``; :class:`ValueError` if invalid."""
        return cls(
            auth=parse_limit(settings.rate_limit_auth, "CUSTOMERS_RATE_LIMIT_AUTH"),
            register=parse_limit(settings.rate_limit_register, "CUSTOMERS_RATE_LIMIT_REGISTER"),
            limiter=SlidingWindowCounterRateLimiter(MemoryStorage()),
        )

    def hit(self, item: RateLimitItem | None, scope: str, client: str) -> None:
        """Count one event of ``client``; :class:`RateLimited` when it is over the limit."""
        if item is None or self.limiter.hit(item, scope, client):
            return
        reset_at = self.limiter.get_window_stats(item, scope, client).reset_time
        raise RateLimited(max(1, math.ceil(reset_at - time.time())))


def init_app(app: Flask, settings: Settings) -> None:
    """Parse the limits (a bad value fails start-up with a message naming the variable)."""
    app.extensions[_EXTENSION] = RateLimits.from_settings(settings)


def _client() -> str:
    return request.remote_addr or "unknown"


def count_failed_auth() -> None:
    """Count a failed authentication of this request's client; :class:`RateLimited` if over."""
    limits: RateLimits = current_app.extensions[_EXTENSION]
    limits.hit(limits.auth, "auth", _client())


def count_registration() -> None:
    """Count a registration attempt of this request's client; :class:`RateLimited` if over."""
    limits: RateLimits = current_app.extensions[_EXTENSION]
    limits.hit(limits.register, "register", _client())
