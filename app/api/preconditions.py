"""Conditional requests on one customer, address or group: ``ETag`` out, ``If-Match`` in.

The tags are the service's (:mod:`app.service.etags`: a hash of the resource's own fields),
sent as strong entity tags (``"…"``) and compared exactly: a weak tag (``W/"…"``) never
matches. ``If-Match: *`` matches any existing resource, so it is no condition here (every
conditional route answers 404 for a missing one). The comparison itself is the service's, in
the same compare-and-set as the write, so a 412 means nothing was written.
"""

from __future__ import annotations

from typing import Any

from flask import request
from pydantic import BaseModel

from app.entities import Entity
from app.service.etags import IfMatch, etag_of

__all__ = ["Tagged", "if_match", "tagged"]

Body = dict[str, Any]
Tagged = tuple[Body, dict[str, str]]
"""A response body with its ``ETag`` header (Flask reads a ``(body, headers)`` pair)."""


def if_match() -> IfMatch:
    """The tags the request's ``If-Match`` accepts: ``None`` without the header (or with
    ``*``), else the strong tags it lists (none: nothing can match)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    items = [item.strip() for item in header.split(",")]
    if "*" in items:
        return None
    return tuple(item[1:-1] for item in items if len(item) > 1 and item[0] == item[-1] == '"')


def tagged(body: Body, entity: Entity, record: BaseModel) -> Tagged:
    """``body`` with the ``ETag`` of ``record`` (a DTO of ``entity`` with every field)."""
    return body, {"ETag": f'"{etag_of(entity, record)}"'}
