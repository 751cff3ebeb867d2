"""Our JSONL: group lines, then one line per customer with its addresses and memberships."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.dataio.layout import (
    JSONL_ADDRESS_KEYS,
    JSONL_CUSTOMER_KEYS,
    JSONL_GROUP_KEYS,
    JSONL_MEMBERSHIP_KEYS,
    JSONL_OPTIONAL_KEYS,
    format_date,
)
from app.dataio.writers.base import Doc, Writer
from app.dataio.writers.cells import to_json
from app.entities import ADDRESS, CUSTOMER, GROUP, MEMBERSHIP, Entity

__all__ = ["JsonlWriter"]

_GROUP_TYPE, _CUSTOMER_TYPE = "customer_group", "customer"
_NESTED = ("type", "addresses", "groups")


class _Shape:
    """How one kind of record is written: its keys in the file, where each is stored (a
    document of its own, a customer or a group, stores its ``id`` as ``_id``), its dates."""

    def __init__(self, keys: Sequence[str], entity: Entity, *, top: bool) -> None:
        self.keys = tuple(k for k in keys if k not in _NESTED)
        self.stored = tuple("_id" if top and k == "id" else k for k in self.keys)
        self.dates = tuple(k for k in self.keys if k in entity.dates)

    def record(self, doc: Doc) -> dict[str, Any]:
        """The stored values, dates formatted (for every customer of an export: kept tight)."""
        out = dict(zip(self.keys, map(doc.get, self.stored), strict=True))
        for key in self.dates:
            value = out[key]
            if value is not None:
                out[key] = format_date(value)
        return out


_CUSTOMER = _Shape(JSONL_CUSTOMER_KEYS, CUSTOMER, top=True)
_GROUP = _Shape(JSONL_GROUP_KEYS, GROUP, top=True)
_ADDRESS = _Shape(JSONL_ADDRESS_KEYS, ADDRESS, top=False)
_MEMBERSHIP = _Shape(JSONL_MEMBERSHIP_KEYS, MEMBERSHIP, top=False)


class JsonlWriter(Writer):
    """One JSON object per line, keys in the layout's order, UTF-8."""

    media_type = "application/x-ndjson"
    extension = "jsonl"
    group_lines = True

    def groups(self, docs: Sequence[Doc]) -> bytes:
        """A ``customer_group`` line per group."""
        lines = [to_json({"type": _GROUP_TYPE, **_GROUP.record(doc)}) for doc in docs]
        return _joined(lines)

    def customers(self, docs: Sequence[Doc], groups: Mapping[str, Doc]) -> bytes:
        """A ``customer`` line per customer (``merged_into`` / ``provenance`` when set)."""
        return _joined([to_json(self.customer(doc)) for doc in docs])

    def customer(self, doc: Doc) -> dict[str, Any]:
        """The customer line's object."""
        line: dict[str, Any] = {"type": _CUSTOMER_TYPE, **_CUSTOMER.record(doc)}
        line["addresses"] = [_ADDRESS.record(a) for a in doc.get("addresses", ())]
        line["groups"] = [_MEMBERSHIP.record(m) for m in doc.get("groups", ())]
        for key in JSONL_OPTIONAL_KEYS:
            if doc.get(key) is not None:
                line[key] = doc[key]
        return line


def _joined(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
