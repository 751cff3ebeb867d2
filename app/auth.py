"""Who is calling: secret API keys and JWTs for ``/admin``, customer JWTs for ``/store``.

Admin requests carry one of::

    Authorization: Basic base64("sk_…:")    # what @medusajs/js-sdk sends for `apiKey`
    Authorization: Bearer sk_…
    Authorization: Bearer <JWT, HS256, actor_type "user">

Store requests carry ``Authorization: Bearer <JWT>`` with Medusa's claims ``actor_type:
"customer"``, ``actor_id`` (the customer id, ``""`` for a registration token),
``auth_identity_id`` (required in a registration token: the identity the new customer is linked
to) and optional ``app_metadata``. Anything missing, expired, without ``exp`` (a token must not
be valid forever), badly signed or of the wrong actor type is 401 ``{"message": "Unauthorized"}``;
failed authentications are rate-limited per client address (:mod:`app.ratelimit`).

API keys: ``sk_`` + 64 hex characters, shown once; MongoDB collection ``api_keys`` keeps only
the SHA-256 of the secret (a secret with 256 random bits needs no slow hash). Verified keys are
cached per process for :data:`KEY_CACHE_SECONDS`, so a revocation made by another process takes
effect within that time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
from flask import Flask, current_app, g, request

from app import ratelimit
from app.config import DEFAULT_JWT_SECRET, Settings
from app.errors import NotFound
from app.ids import new_id
from app.limits import MAX_ID_CHARS

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

__all__ = [
    "API_KEYS",
    "KEY_CACHE_SECONDS",
    "Actor",
    "ApiKeys",
    "AuthError",
    "created_by",
    "current_actor",
    "decode_token",
    "ensure_indexes",
    "hash_secret",
    "init_app",
    "jwt_secret_for",
    "mint_token",
    "new_secret",
    "require_admin",
    "require_customer",
]

API_KEYS = "api_keys"  # MongoDB collection of secret API keys
KEY_CACHE_SECONDS = 5.0  # how long a verified key is trusted without asking MongoDB again
TOKEN_SECONDS = 24 * 3600  # lifetime of tokens minted by `customers token`
SECRET_PREFIX = "sk_"

log = logging.getLogger("customers.auth")


class AuthError(Exception):
    """Missing or invalid credentials: always answered with 401 ``{message: Unauthorized}``."""


@dataclass(frozen=True)
class Actor:
    """The authenticated caller."""

    actor_type: str  # "user" | "api-key" | "customer"
    actor_id: str
    auth_identity_id: str = ""
    app_metadata: dict[str, Any] = field(default_factory=dict)


# --- secrets and tokens ----------------------------------------------------------------------


def new_secret() -> str:
    """Return a new ``sk_`` secret (256 random bits)."""
    return SECRET_PREFIX + secrets.token_hex(32)


def hash_secret(secret: str) -> str:
    """Return the SHA-256 hex digest stored for ``secret``."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _redact(secret: str) -> str:
    return f"{secret[:6]}…{secret[-4:]}"


def jwt_secret_for(settings: Settings) -> str:
    """Return the JWT secret; refuse the development default in production."""
    secret = settings.jwt_secret
    if secret and secret != DEFAULT_JWT_SECRET:
        return secret
    if settings.is_production:
        raise RuntimeError(
            "JWT_SECRET is unset or the development default; refusing to start with "
            "CUSTOMERS_ENV=production. Set JWT_SECRET to a long random value."
        )
    log.warning(
        "*** JWT_SECRET is not set: using the INSECURE development default %r. Anyone can "
        "mint tokens for this server. Set JWT_SECRET before exposing it. ***",
        DEFAULT_JWT_SECRET,
    )
    return DEFAULT_JWT_SECRET


def mint_token(
    secret: str,
    *,
    actor_type: str,
    actor_id: str,
    auth_identity_id: str | None = None,
    app_metadata: dict[str, Any] | None = None,
    user_metadata: dict[str, Any] | None = None,
    expires_in: int = TOKEN_SECONDS,
) -> str:
    """Return an HS256 JWT with Medusa's claims; a fresh ``auth_identity_id`` unless given."""
    now = datetime.now(UTC)
    claims = {
        "actor_id": actor_id,
        "actor_type": actor_type,
        "auth_identity_id": auth_identity_id or new_id("authid"),
        "app_metadata": app_metadata or {},
        "user_metadata": user_metadata or {},
        "iat": now,
        "exp": now + timedelta(seconds=expires_in),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(secret: str, token: str) -> Actor:
    """Verify an HS256 token and return its actor; :class:`AuthError` when invalid, expired
    or without ``exp``."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        raise AuthError("invalid token") from None
    actor_type, actor_id = claims.get("actor_type"), claims.get("actor_id")
    metadata = claims.get("app_metadata") or {}
    identity = claims.get("auth_identity_id") or ""
    if not isinstance(actor_type, str) or not isinstance(actor_id, str):
        raise AuthError("token without actor")
    if not isinstance(metadata, dict) or not isinstance(identity, str):
        raise AuthError("malformed token claims")
    return Actor(actor_type, actor_id, identity, metadata)


# --- the api_keys collection -----------------------------------------------------------------


class ApiKeys:
    """Secret API keys in MongoDB (only hashes are stored)."""

    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = database[API_KEYS]

    async def ensure_indexes(self) -> None:
        """Create the unique index on the secret's hash (idempotent)."""
        await self.collection.create_index("token_hash", unique=True, name="token_hash_unique")

    async def create(self, title: str, *, created_by: str | None = None) -> tuple[dict, str]:
        """Create a key; return its public record and the secret (shown only this once)."""
        await self.ensure_indexes()
        secret = new_secret()
        record = {
            "_id": new_id("apk"),
            "title": title,
            "type": "secret",
            "token_hash": hash_secret(secret),
            "redacted": _redact(secret),
            "created_by": created_by,
            "created_at": datetime.now(UTC),
            "revoked_at": None,
        }
        await self.collection.insert_one(record)
        return _public(record), secret

    async def list_keys(self) -> list[dict]:
        """Every key, oldest first (without hashes)."""
        return [_public(doc) async for doc in self.collection.find({}).sort("_id", 1)]

    async def revoke(self, key_id: str) -> dict:
        """Revoke a key now; revoking twice keeps the first time."""
        now = datetime.now(UTC)
        await self.collection.update_one(
            {"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        doc = await self.collection.find_one({"_id": key_id})
        if doc is None:
            raise NotFound(f"API key with id: {key_id} was not found")
        return _public(doc)

    async def verify(self, secret: str) -> dict | None:
        """The live key whose secret this is, else ``None``."""
        doc = await self.collection.find_one(
            {"token_hash": hash_secret(secret), "revoked_at": None}
        )
        if doc is None or not hmac.compare_digest(doc["token_hash"], hash_secret(secret)):
            return None
        return _public(doc)


def _public(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "title": doc.get("title"),
        "type": doc.get("type", "secret"),
        "redacted": doc.get("redacted"),
        "created_by": doc.get("created_by"),
        "created_at": doc.get("created_at"),
        "revoked_at": doc.get("revoked_at"),
    }


# --- Flask glue ------------------------------------------------------------------------------

_JWT_SECRET = "customers.jwt_secret"
_KEY_CACHE = "customers.api_key_cache"


class _KeyCache:
    """Recently verified key hashes → key id (thread-safe, time-bounded)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> str | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None or entry[1] < time.monotonic():
                self._entries.pop(digest, None)
                return None
            return entry[0]

    def put(self, digest: str, key_id: str) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (key_id, time.monotonic() + self.seconds)


def init_app(app: Flask, settings: Settings) -> None:
    """Resolve the JWT secret (refused in production when unset), prepare the key cache and
    the rate limits."""
    app.extensions[_JWT_SECRET] = jwt_secret_for(settings)
    app.extensions[_KEY_CACHE] = _KeyCache(KEY_CACHE_SECONDS)
    ratelimit.init_app(app, settings)


def ensure_indexes(app: Flask) -> None:
    """Create the ``api_keys`` index on the app's database (after the service connected)."""
    from app import runtime

    service = app.extensions.get(runtime.SERVICE)
    if service is not None and getattr(service, "database", None) is not None:
        runtime.run(ApiKeys(service.database).ensure_indexes(), app=app)


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
    from app import runtime

    digest = hash_secret(secret)
    cache: _KeyCache = current_app.extensions[_KEY_CACHE]
    key_id = cache.get(digest)
    if key_id is None:
        service = runtime.get_service()
        record = runtime.run(ApiKeys(service.database).verify(secret))
        if record is None:
            raise AuthError("unknown or revoked API key")
        key_id = record["id"]
        cache.put(digest, key_id)
    return Actor("api-key", key_id)


@contextmanager
def _failures_counted() -> Iterator[None]:
    """Count an :class:`AuthError` against the client's limit: 401, or 429 once over it."""
    try:
        yield
    except AuthError:
        ratelimit.count_failed_auth()
        raise


def require_admin() -> None:
    """``before_request`` of admin blueprints: an API key or a user JWT."""
    if request.method == "OPTIONS":  # CORS preflight carries no credentials
        return
    with _failures_counted():
        g.actor = _admin_actor()


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


def created_by() -> str | None:
    """The id recorded as ``created_by``: the acting user (or API key)."""
    actor: Actor | None = g.get("actor")
    return actor.actor_id if actor else None
