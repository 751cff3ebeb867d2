"""Entity tags: a customer's, an address's or a group's version as its own fields make it.

An ETag is a hash of the entity's own public fields, as its declaration lists them
(:attr:`app.entities.Entity.public_names`): a customer's addresses and memberships are
relations, not fields, so changing them leaves the customer's tag alone, and an address's tag
changes only when that address does, though it is embedded in the customer's document. It is
computed on read from what is stored, so no schema change and no counter to keep in step.

A write that names the tag it expects (``if_match``) compares it inside the write's
compare-and-set on the document's ``version`` (:func:`app.service.customers.cas_update`): the
comparison is made again on every retry after a lost race, so of two writers holding the same
tag exactly one succeeds and the other gets :class:`app.errors.PreconditionFailed`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from app.entities import Entity
from app.errors import InvalidData, PreconditionFailed, quote

__all__ = ["IfMatch", "check_tag", "etag_of", "single_target"]

IfMatch = str | tuple[str, ...] | None
"""The tag a write is based on: one tag, several (any may match; none given: nothing
matches), or ``None`` for an unconditional write."""

_TAG_BYTES = 16  # 128 bits of SHA-256: collisions are out of reach


def _plain(value: Any) -> Any:
    """JSON for what stored documents hold besides JSON types: datetimes, in one form whether
    they come from MongoDB (aware, milliseconds) or from a write's result."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="milliseconds")
    raise TypeError(f"not JSON: {type(value).__name__}")


def _value(record: Mapping[str, Any] | BaseModel, name: str) -> Any:
    """``record``'s field ``name`` (a stored document keeps its id as ``_id``); a DTO's
    relations are never dumped, however many addresses it holds."""
    if isinstance(record, BaseModel):
        return getattr(record, name, None)
    return record.get("_id", record.get("id")) if name == "id" else record.get(name)


def etag_of(entity: Entity, record: Mapping[str, Any] | BaseModel) -> str:
    """The tag of ``record``, a stored document (``_id``) or a DTO of ``entity`` holding every
    public field (a partial ``select`` would give another tag)."""
    own = {name: _value(record, name) for name in entity.public_names}
    canonical = json.dumps(own, sort_keys=True, separators=(",", ":"), default=_plain)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()[:_TAG_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def check_tag(entity: Entity, record: Mapping[str, Any] | BaseModel, if_match: IfMatch) -> None:
    """:class:`PreconditionFailed` unless ``record`` has the tag ``if_match`` expects."""
    if if_match is None:
        return
    expected = (if_match,) if isinstance(if_match, str) else if_match
    if etag_of(entity, record) not in expected:
        entity_id = _value(record, "id")
        raise PreconditionFailed(
            f"{entity.label} with id: {quote(entity_id)} was changed since it was read "
            "(If-Match does not match its ETag); read it again and retry"
        )


def single_target(selector: object, if_match: IfMatch, what: str) -> None:
    """Refuse an expected tag on a write of several entities (or of a filter's matches): a
    tag names one entity's version."""
    if if_match is None:
        return
    one = isinstance(selector, str) or (
        isinstance(selector, list | tuple) and len(selector) == 1 and isinstance(selector[0], str)
    )
    if not one:
        raise InvalidData(f"Invalid request: if_match needs a single {what} id")
