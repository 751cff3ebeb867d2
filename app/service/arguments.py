"""The shapes of the service's arguments: one or many, ids or a filter selector."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

from app.errors import InvalidData
from app.input_checks import check_id, check_storable

__all__ = ["id_list", "is_selector", "one_or_many"]


def one_or_many(value: Any) -> tuple[list[Any], bool]:
    """Return ``(items, single)``: Medusa's "one object in → one out, a list in → a list out"."""
    if isinstance(value, list | tuple):
        return list(value), False
    return [value], True


def is_selector(value: object) -> TypeGuard[Mapping[str, Any]]:
    """Whether an ``update_*`` / ``delete_*`` target is a filter object rather than ids."""
    return isinstance(value, Mapping)


def id_list(value: Any, what: str = "id") -> list[str]:
    """Validate an id or a list of ids and return them as a list."""
    items, _ = one_or_many(value)
    if not all(isinstance(item, str) and item for item in items):
        raise InvalidData(f"Invalid request: {what} must be a non-empty string or a list of them")
    for item in items:
        check_id(item, what)
    check_storable(items, what)
    return items
