"""Credentials, without any HTTP: secret API keys (stored hashed) and HS256 JWTs.

API keys: ``sk_`` + 64 hex characters, shown once; MongoDB collection ``api_keys`` keeps only
the SHA-256 of the secret (a secret with 256 random bits needs no slow hash). Each key has a
scope (:data:`SCOPES`: ``admin`` may do everything, ``read`` only read) and may expire; keys
stored before scopes existed have neither field and are ``admin`` keys that never expire.
Tokens carry Medusa's claims (``actor_type``, ``actor_id``, ``auth_identity_id``,
``app_metadata``) and must carry ``exp``: a token valid forever is refused. How requests
present them, and the key cache, are :mod:`app.auth`'s.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt

from app.config import DEFAULT_JWT_SECRET, Settings
from app.entities.values import utcnow
from app.errors import InvalidData, NotFound
from app.ids import new_id

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

__all__ = [
    "ADMIN",
    "API_KEYS",
    "READ",
    "READ_METHODS",
    "SCOPES",
    "SECRET_PREFIX",
    "Actor",
    "ApiKeys",
    "AuthError",
    "decode_token",
    "hash_secret",
    "jwt_secret_for",
    "key_actor",
    "mint_token",
    "new_secret",
]

API_KEYS = "api_keys"  # MongoDB collection of secret API keys
TOKEN_SECONDS = 24 * 3600  # lifetime of tokens minted by `customers token`
SECRET_PREFIX = "sk_"

ADMIN, READ = "admin", "read"
SCOPES = (ADMIN, READ)  # what an API key may do: everything, or read only
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # the requests a ``read`` key may make

log = logging.getLogger("customers.auth")


class AuthError(Exception):
    """Missing or invalid credentials: always answered with 401 ``{message: Unauthorized}``."""


@dataclass(frozen=True)
class Actor:
    """The authenticated caller: who, what it may do (``scope``) and until when."""

    actor_type: str  # "user" | "api-key" | "customer"
    actor_id: str
    auth_identity_id: str = ""
    app_metadata: dict[str, Any] = field(default_factory=dict)
    scope: str = ADMIN  # an admin caller's scope (SCOPES); a user token is always admin
    expires_at: datetime | None = None  # the key's expiry, or the token's ``exp``

    def may(self, method: str) -> bool:
        """Whether this caller's scope allows an HTTP request of ``method``."""
        return self.scope == ADMIN or method in READ_METHODS

    def expired(self, now: datetime) -> bool:
        """Whether the credentials have expired at ``now``."""
        return self.expires_at is not None and self.expires_at <= now


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
    try:  # PyJWT checked that it is a number in the future; it may still be out of range
        expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    except (OverflowError, OSError, ValueError):
        raise AuthError("token expiry out of range") from None
    return Actor(actor_type, actor_id, identity, metadata, expires_at=expires_at)


# --- the api_keys collection -----------------------------------------------------------------


class ApiKeys:
    """Secret API keys in MongoDB (only hashes are stored)."""

    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = database[API_KEYS]

    async def ensure_indexes(self) -> None:
        """Create the unique index on the secret's hash (idempotent)."""
        await self.collection.create_index("token_hash", unique=True, name="token_hash_unique")

    async def create(
        self,
        title: str,
        *,
        scope: str = ADMIN,
        expires_in: timedelta | None = None,
        created_by: str | None = None,
    ) -> tuple[dict, str]:
        """Create a key of ``scope`` (valid for ``expires_in``, or until revoked); return its
        public record and the secret (shown only this once)."""
        if scope not in SCOPES:
            raise InvalidData(f"scope must be one of {', '.join(SCOPES)}")
        if expires_in is not None and expires_in <= timedelta(0):
            raise InvalidData("expires_in must be positive")
        await self.ensure_indexes()
        secret = new_secret()
        now = utcnow()  # BSON's resolution: the record returned is the record stored
        record = {
            "_id": new_id("apk"),
            "title": title,
            "type": "secret",
            "token_hash": hash_secret(secret),
            "redacted": _redact(secret),
            "scope": scope,
            "expires_at": None if expires_in is None else now + expires_in,
            "created_by": created_by,
            "created_at": now,
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
        """The unrevoked key whose secret this is, else ``None`` (its expiry is the caller's
        to check, on every request: see :meth:`Actor.expired`)."""
        doc = await self.collection.find_one(
            {"token_hash": hash_secret(secret), "revoked_at": None}
        )
        if doc is None or not hmac.compare_digest(doc["token_hash"], hash_secret(secret)):
            return None
        return _public(doc)


def key_actor(record: dict) -> Actor:
    """The caller a key's public record (:meth:`ApiKeys.verify`) authenticates."""
    return Actor("api-key", record["id"], scope=record["scope"], expires_at=record["expires_at"])


def _public(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "title": doc.get("title"),
        "type": doc.get("type", "secret"),
        "redacted": doc.get("redacted"),
        "scope": doc.get("scope") or ADMIN,  # keys made before scopes are admin keys
        "expires_at": doc.get("expires_at"),
        "created_by": doc.get("created_by"),
        "created_at": doc.get("created_at"),
        "revoked_at": doc.get("revoked_at"),
    }
