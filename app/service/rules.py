"""Pure rules of the data model: no I/O, so unit tests reach them directly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from app.bounded import metadata_bytes
from app.errors import InvalidData, default_address_conflict
from app.limits import MAX_METADATA_BYTES

__all__ = [
    "DEFAULT_FLAGS",
    "apply_default_flags",
    "check_one_default_per_kind",
    "merge_metadata",
]

DEFAULT_FLAGS = ("is_default_shipping", "is_default_billing")


def merge_metadata(
    current: Mapping[str, Any] | None, update: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """Medusa's metadata update: a shallow merge where ``""`` deletes a key.

    ``None`` clears the metadata and ``{}`` replaces it with an empty object; any other update
    keeps the existing keys, overwrites the given ones, stores ``None`` values as null and
    removes keys whose new value is the empty string. Nested objects are replaced whole.

    The merged metadata is bounded like the update (``MAX_METADATA_BYTES``), or merges could
    grow it without end; metadata stored larger before the limit may still shrink.
    """
    if update is None:
        return None
    if not update:
        return {}
    merged = dict(current or {})
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    size = metadata_bytes(merged)
    if size > MAX_METADATA_BYTES and size > metadata_bytes(current or {}):
        raise InvalidData(
            f"Invalid request: Field 'metadata' must be at most {MAX_METADATA_BYTES} bytes of "
            "JSON once merged with the stored metadata"
        )
    return merged


def check_one_default_per_kind(customer_id: str, addresses: Iterable[Mapping[str, Any]]) -> None:
    """Reject one call that asks for two defaults of the same kind for one customer."""
    seen = dict.fromkeys(DEFAULT_FLAGS, 0)
    for address in addresses:
        for flag in DEFAULT_FLAGS:
            if address.get(flag):
                seen[flag] += 1
                if seen[flag] > 1:
                    raise default_address_conflict(customer_id)


def apply_default_flags(
    addresses: list[dict[str, Any]], winners: Iterable[str], now: datetime
) -> None:
    """Clear each default flag on every address except the given winners (newest wins).

    ``winners`` are ids of addresses that were just marked default; for each flag one of them
    holds, every other address of the customer loses that flag (and is stamped ``now``).
    Mutates ``addresses``.
    """
    winner_ids = set(winners)
    for flag in DEFAULT_FLAGS:
        holders = [a["id"] for a in addresses if a["id"] in winner_ids and a.get(flag)]
        if holders:
            for address in addresses:
                if address["id"] not in holders and address.get(flag):
                    address[flag] = False
                    address["updated_at"] = now
