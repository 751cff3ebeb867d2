"""MongoDB spelling shared by the service modules: conditions, sorts, duplicate-key errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

__all__ = ["all_of", "duplicate_key", "live", "mongo_sort"]


def live(with_deleted: bool) -> dict[str, Any]:
    """The condition that hides soft-deleted rows, unless ``with_deleted``."""
    return {} if with_deleted else {"deleted_at": None}


def all_of(*conditions: Mapping[str, Any]) -> dict[str, Any]:
    """AND MongoDB conditions together as one flat document.

    Keys are merged into a single document and only repeated keys go under ``$and``: the
    embedded server plans an index scan for ``{_id: x, deleted_at: null}`` but a collection
    scan for the same condition written as ``{$and: [...]}``.
    """
    merged: dict[str, Any] = {}
    repeated: list[dict[str, Any]] = []

    def add(condition: Mapping[str, Any]) -> None:
        for key, value in condition.items():
            if key == "$and":
                for part in value:
                    add(part)
            elif key in merged:
                repeated.append({key: value})
            else:
                merged[key] = value

    for condition in conditions:
        add(condition)
    if repeated:
        merged["$and"] = repeated
    return merged


def mongo_sort(sort: Sequence[tuple[str, int]], id_path: str = "_id") -> list[tuple[str, int]]:
    """A FindConfig sort with ``id`` mapped to the stored id path."""
    return [(id_path if name == "id" else name, direction) for name, direction in sort]


def duplicate_key(exc: PyMongoError) -> Mapping[str, Any] | None:
    """The ``keyValue`` of a duplicate-key failure (single or bulk write), else ``None``."""
    if isinstance(exc, BulkWriteError):
        errors = [e for e in exc.details.get("writeErrors", []) if e.get("code") == 11000]
        if not errors:
            return None
        details = errors[0]
    elif isinstance(exc, DuplicateKeyError) or (
        isinstance(exc, OperationFailure) and exc.code == 11000
    ):
        details = exc.details or {}
    else:
        return None
    return details.get("keyValue") or {}
