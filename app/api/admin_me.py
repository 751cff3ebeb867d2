"""``/admin/me``: who the admin credentials are, and what they may do.

An app signing in with a key asks this first, to show only what the key's scope allows. A
``read`` key may call it (it is a GET).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.api import schemas as s
from app.api.openapi import documented
from app.auth import current_actor, require_admin

bp = Blueprint("admin_me", __name__, url_prefix="/admin/me")
bp.before_request(require_admin)

_ACTOR_TYPES = {"api-key": "api_key", "user": "user"}  # Actor.actor_type → the API's name


@bp.get("")
@documented(summary="The caller's scope and expiry", response=s.MeResponse, auth="admin")
def me() -> dict[str, Any]:
    """The scope, type, id and expiry of the credentials this request carries."""
    actor = current_actor()
    expires_at = actor.expires_at
    return {
        "scope": actor.scope,
        "actor_type": _ACTOR_TYPES[actor.actor_type],
        "actor_id": actor.actor_id,
        "expires_at": None if expires_at is None else expires_at.isoformat(),
    }
