"""Our JSONL: group lines, then one line per customer with its addresses and memberships."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
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

__all__ = ["JsonlWriter"]

_GROUP_TYPE, _CUSTOMER_TYPE = "customer_group", "customer"
_CUSTOMER_FIELDS = tuple(k for k in JSONL_CUSTOMER_KEYS if k not in ("type", "addresses", "groups"))
_GROUP_FIELDS = tuple(k for k in JSONL_GROUP_KEYS if k != "type")


def _value(doc: Doc, key: str) -> Any:
    """A stored value for the file: ``id`` read from ``_id`` where it is stored so, dates
    formatted."""
    value = doc.get("_id", doc.get("id")) if key == "id" else doc.get(key)
    return format_date(value) if isinstance(value, datetime) else value


def _record(doc: Doc, keys: Sequence[str]) -> dict[str, Any]:
    return {key: _value(doc, key) for key in keys}


class JsonlWriter(Writer):
    """One JSON object per line, keys in the layout's order, UTF-8."""

    media_type = "application/x-ndjson"
    extension = "jsonl"
    group_lines = True

    def groups(self, docs: Sequence[Doc]) -> bytes:
        """A ``customer_group`` line per group."""
        lines = [to_json({"type": _GROUP_TYPE, **_record(doc, _GROUP_FIELDS)}) for doc in docs]
        return _joined(lines)

    def customers(self, docs: Sequence[Doc], groups: Mapping[str, Doc]) -> bytes:
        """A ``customer`` line per customer (``merged_into`` / ``provenance`` when set)."""
        return _joined([to_json(self.customer(doc)) for doc in docs])

    def customer(self, doc: Doc) -> dict[str, Any]:
        """The customer line's object."""
        line: dict[str, Any] = {"type": _CUSTOMER_TYPE, **_record(doc, _CUSTOMER_FIELDS)}
        line["addresses"] = [_record(a, JSONL_ADDRESS_KEYS) for a in doc.get("addresses", ())]
        line["groups"] = [_record(m, JSONL_MEMBERSHIP_KEYS) for m in doc.get("groups", ())]
        for key in JSONL_OPTIONAL_KEYS:
            if doc.get(key) is not None:
                line[key] = doc[key]
        return line


def _joined(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
