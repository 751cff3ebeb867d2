"""Who is calling: API keys and JWTs for ``/admin``, customer JWTs for ``/store``.

Admin requests carry one of::

    Authorization: Basic base64("sk_…:")    # what @medusajs/js-sdk sends for `apiKey`
    Authorization: Bearer sk_…
    Authorization: Bearer <JWT, HS256, actor_type "user">

Store requests carry ``Authorization: Bearer <JWT>`` with Medusa's claims ``actor_type:
"customer"``, ``actor_id`` (the customer id, ``""`` for a registration token),
``auth_identity_id`` (required in a registration token: the identity the new customer is linked
to) and optional ``app_metadata``. Anything missing, expired, without ``exp``, badly signed or
of the wrong actor type is 401 ``{"message": "Unauthorized"}``; failed authentications are
rate-limited per client address (:mod:`app.ratelimit`). The credentials themselves (hashing,
the ``api_keys`` collection, token claims) are :mod:`app.credentials`'.

Verified keys are cached per process for :data:`KEY_CACHE_SECONDS` (:class:`KeyCache`), so a
revocation made by another process takes effect within that time. An expiry is checked on
every request, cached key or not: an expired key is 401 at once, like an unknown one.

Scopes: a ``read`` key may make ``GET``, ``HEAD`` and ``OPTIONS`` requests only; anything else
is 403 ``not_allowed`` (:class:`app.errors.Forbidden`). User tokens are ``admin``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Flask, current_app, g, request

from app import ratelimit
from app.credentials import (
    ADMIN,
    READ_METHODS,
    SECRET_PREFIX,
    Actor,
    ApiKeys,
    AuthError,
    decode_token,
    hash_secret,
    key_actor,
)
from app.errors import Forbidden
from app.limits import MAX_ID_CHARS

__all__ = [
    "KEY_CACHE_SECONDS",
    "KeyCache",
    "act_as",
    "created_by",
    "current_actor",
    "init_app",
    "key_cache_of",
    "require_admin",
    "require_admin_scope",
    "require_customer",
]

KEY_CACHE_SECONDS = 5.0  # how long a verified key is trusted without asking MongoDB again
KEY_CACHE_ENTRIES = 10_000  # the cache starts afresh beyond this many keys

_JWT_SECRET = "customers.jwt_secret"
_KEY_CACHE = "customers.api_key_cache"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class KeyCache:
    """Recently verified key hashes → the key's caller (thread-safe, time-bounded).

    :param seconds: how long an entry is trusted.
    :param clock: monotonic seconds (tests move it instead of sleeping).
    :param now: the wall clock keys' expiries are compared with (tests move it too).
    """

    def __init__(
        self,
        seconds: float = KEY_CACHE_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.seconds = seconds
        self.clock = clock
        self.now = now
        self._entries: dict[str, tuple[Actor, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Actor | None:
        """The caller cached for ``digest``, unless the entry is older than :attr:`seconds`
        (the key's own expiry is not checked here)."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None or entry[1] < self.clock():
                self._entries.pop(digest, None)
                return None
            return entry[0]

    def put(self, digest: str, actor: Actor) -> None:
        """Trust ``digest`` as ``actor`` for :attr:`seconds`."""
        with self._lock:
            if len(self._entries) > KEY_CACHE_ENTRIES:
                self._entries.clear()
            self._entries[digest] = (actor, self.clock() + self.seconds)


def init_app(app: Flask, jwt_secret: str) -> None:
    """Authenticate ``app``'s requests with ``jwt_secret`` (tokens) and API keys."""
    app.extensions[_JWT_SECRET] = jwt_secret
    app.extensions[_KEY_CACHE] = KeyCache()


def key_cache_of(app: Flask) -> KeyCache:
    """The API key cache of ``app``."""
    cache: KeyCache = app.extensions[_KEY_CACHE]
    return cache


def _bearer_or_basic() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        return None
    scheme = scheme.lower()
    if scheme == "bearer":
        return "bearer", value
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return "basic", decoded.partition(":")[0]
    return None


def _api_key_actor(secret: str) -> Actor:
    from app.webapp import get_service, run

    digest = hash_secret(secret)
    cache = key_cache_of(current_app)
    actor = cache.get(digest)
    if actor is None:
        service = get_service()
        record = run(ApiKeys(service.database).verify(secret))
        if record is None:
            raise AuthError("unknown or revoked API key")
        actor = key_actor(record)
        cache.put(digest, actor)
    if actor.expired(cache.now()):  # every request: the cache may outlive the key
        raise AuthError("expired API key")
    return actor


@contextmanager
def _failures_counted() -> Iterator[None]:
    """Count an :class:`AuthError` against the client's limit: 401, or 429 once over it."""
    try:
        yield
    except AuthError:
        ratelimit.count_failed_auth()
        raise


def require_admin() -> None:
    """``before_request`` of admin blueprints: an API key or a user JWT, whose scope allows
    the request's method."""
    if request.method == "OPTIONS":  # CORS preflight carries no credentials
        return
    with _failures_counted():
        g.actor = _admin_actor()
    if not g.actor.may(request.method):  # valid credentials: not a failed authentication
        raise Forbidden(
            f"This API key has the {g.actor.scope!r} scope: it may read "
            f"({', '.join(sorted(READ_METHODS))}) but not {request.method}"
        )


def require_admin_scope(what: str) -> None:
    """Refuse a ``read`` key even on a ``GET``: for reads that hand out everything about a
    person (``what``), which support staff's read keys should not reach."""
    if g.actor.scope != ADMIN:
        raise Forbidden(f"This API key has the {g.actor.scope!r} scope: {what} needs 'admin'")


def _admin_actor() -> Actor:
    credentials = _bearer_or_basic()
    if credentials is None:
        raise AuthError("missing credentials")
    scheme, value = credentials
    if value.startswith(SECRET_PREFIX) and len(value) < 200:
        return _api_key_actor(value)
    if scheme != "bearer":
        raise AuthError("basic auth needs an API key")
    actor = decode_token(current_app.extensions[_JWT_SECRET], value)
    if actor.actor_type != "user" or not actor.actor_id:
        raise AuthError("not a user token")
    return actor


def require_customer(*, allow_unregistered: bool = False) -> Actor:
    """A customer JWT; a registration token (``actor_id == ""``, with an
    ``auth_identity_id``) only where allowed."""
    if request.method == "OPTIONS":  # CORS preflight carries no credentials
        return Actor("anonymous", "")
    with _failures_counted():
        actor = _customer_actor(allow_unregistered)
    g.actor = actor
    return actor


def _customer_actor(allow_unregistered: bool) -> Actor:
    credentials = _bearer_or_basic()
    if credentials is None or credentials[0] != "bearer":
        raise AuthError("missing bearer token")
    actor = decode_token(current_app.extensions[_JWT_SECRET], credentials[1])
    if actor.actor_type != "customer":
        raise AuthError("not a customer token")
    if not actor.actor_id:
        if not allow_unregistered:
            raise AuthError("token not linked to a customer")
        if not 0 < len(actor.auth_identity_id) <= MAX_ID_CHARS:
            raise AuthError("registration token without a valid auth_identity_id")
    return actor


def current_actor() -> Actor:
    """The caller authenticated for this request."""
    return g.actor


def act_as(customer_id: str) -> None:
    """Let this request's customer act as ``customer_id`` (the customer its own was merged
    into)."""
    g.actor = dataclasses.replace(g.actor, actor_id=customer_id)


def created_by() -> str | None:
    """The id recorded as ``created_by``: the acting user (or API key)."""
    actor: Actor | None = g.get("actor")
    return actor.actor_id if actor else None
