"""Our JSONL as rows: group lines, then customer lines, each one JSON object.

JSONL is the restore format: a line is taken as the stored document should be (ids,
``has_account``, ``created_by``, timestamps, ``deleted_at``, ``merged_into``, ``provenance``);
the service checks the values. A line the reader cannot parse (bad JSON, an unknown ``type``,
an unknown key) is reported, and the reading goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from app.dataio.layout import JSONL_CUSTOMER_KEYS, JSONL_GROUP_KEYS, JSONL_OPTIONAL_KEYS
from app.dataio.rows import Problem, Row
from app.dataio.source import TOO_LONG

__all__ = ["ERROR_KEY", "read_jsonl"]

ERROR_KEY = "import_error"
"""The key an error file adds to the lines it repeats; the reader ignores it."""

_KINDS = {"customer": "customer", "customer_group": "group"}
_KEYS = {
    "customer": frozenset((*JSONL_CUSTOMER_KEYS, *JSONL_OPTIONAL_KEYS, ERROR_KEY)),
    "group": frozenset((*JSONL_GROUP_KEYS, ERROR_KEY)),
}


def read_jsonl(lines: Iterable[str]) -> Iterator[Row]:
    """Each non-blank line as a :class:`Row` (``line`` counts every line, blank ones too)."""
    for number, text in enumerate(lines, start=1):
        if text.strip():
            yield _row(number, text.rstrip("\r\n"))


def _row(number: int, text: str) -> Row:
    if text == TOO_LONG:
        return Row(number, "customer", raw="", problem=Problem("", "The line is too long"))
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        return Row(number, "customer", raw=text, problem=Problem("", f"Invalid JSON: {why}"))
    if not isinstance(obj, dict):
        return Row(number, "customer", raw=text, problem=Problem("", "A line must be an object"))
    kind = _KINDS.get(obj.get("type"))  # type: ignore[arg-type]
    if kind is None:
        problem = Problem("type", "Field 'type' must be 'customer' or 'customer_group'")
        return Row(number, "customer", raw=text, problem=problem)
    unknown = sorted(key for key in obj if key not in _KEYS[kind])
    if unknown:
        problem = Problem(unknown[0], f"Unrecognized fields: '{', '.join(unknown)[:100]}'")
        return Row(number, kind, raw=text, problem=problem)
    values: dict[str, Any] = {
        key: value for key, value in obj.items() if key not in ("type", ERROR_KEY)
    }
    row = Row(number, kind, raw=text, restore=True)
    if kind == "customer":
        row.addresses = values.pop("addresses", None) or []
        row.memberships = values.pop("groups", None) or []
        if not isinstance(row.addresses, list):
            row.problem = Problem("addresses", "Field 'addresses' must be an array")
        elif not isinstance(row.memberships, list):
            row.problem = Problem("groups", "Field 'groups' must be an array")
    row.values = values
    return row
