"""Our CSV as rows: one row per address, the rows of one customer next to each other.

The rows of one customer are those with the same ``id`` (or, without one, the same email and
``has_account``) that follow each other; a customer without addresses is one row with empty
address cells. Cells: empty = null, booleans ``true``/``false``, ``metadata`` a JSON object,
``groups`` a JSON array of group names. The timestamps are the service's to set and are not
read (the JSONL restore keeps them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from app.dataio.layout import ADDRESS_PREFIX, CSV_HEADER
from app.dataio.rows import FileError, Problem, Row, content_id
from app.dataio.table import Table, TableRow
from app.entities import ADDRESS, CUSTOMER, Field, Kind, Who
from app.entities.values import normalize_email
from app.limits import MAX_ADDRESSES

__all__ = ["read_csv"]

GROUPS = "groups"
_CUSTOMER_FIELDS = {f.name: f for f in CUSTOMER.writable(Who.SERVICE, on_create=True)}
_ADDRESS_FIELDS = {
    ADDRESS_PREFIX + f.name: f
    for f in ADDRESS.writable(Who.SERVICE, on_create=True)
    if f.name != "customer_id"
}
_COLUMNS: dict[str, str] = {
    **{name: name for name in _CUSTOMER_FIELDS},
    **{f"addresses.{f.name}": column for column, f in _ADDRESS_FIELDS.items()},
    "addresses": "address.*",
    "groups": GROUPS,
}


def read_csv(table: Table) -> Iterator[Row]:
    """The customers of our CSV, one :class:`Row` per run of rows of the same customer."""
    unknown = [name for name in table.header if name and name not in CSV_HEADER]
    if unknown:
        raise FileError(f"Unknown column in the CSV header: {unknown[0][:100]!r}")
    run: list[TableRow] = []
    key: object = None
    for row in table:
        row_key = _key(row)
        if run and (row_key is None or row_key != key):
            yield _customer(run)
            run = []
        run.append(row)
        key = row_key
    if run:
        yield _customer(run)


def _key(row: TableRow) -> object:
    """What ties the rows of one customer together, or ``None`` for a row of its own."""
    if row.problem is not None:
        return None
    if row.cells.get("id"):
        return ("id", row.cells["id"])
    email = row.cells.get("email")
    if email:
        return ("email", normalize_email(email), row.cells.get("has_account", ""))
    return None


def _customer(run: list[TableRow]) -> Row:
    first = run[0]
    raw = [r.raw for r in run[: MAX_ADDRESSES + 1]]
    out = Row(first.line, "customer", raw=raw, columns=_COLUMNS)
    if first.problem is not None:
        out.problem = first.problem
        return out
    try:
        out.values = _values(first.cells, _CUSTOMER_FIELDS)
        out.group_names = _groups(first.cells.get(GROUPS, ""))
        for row in run[: MAX_ADDRESSES + 1]:
            address = _values(row.cells, _ADDRESS_FIELDS, prefix=ADDRESS_PREFIX)
            if any(value is not None for value in address.values()):
                out.addresses.append(address)
    except _CellError as exc:
        out.problem = Problem(exc.column, exc.message)
        return out
    if not out.values.get("id") and not out.values.get("email"):
        out.values["id"] = content_id("csv-row:" + "\x1e".join("\x1f".join(r) for r in raw))
    return out


class _CellError(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _values(cells: dict[str, str], fields: dict[str, Field], prefix: str = "") -> dict[str, Any]:
    """The fields given in ``cells``: an empty cell is null, except for fields that never
    hold null or that only the service sets (``created_by``, ``id``): it leaves those alone."""
    out: dict[str, Any] = {}
    for column, field in fields.items():
        if column not in cells:
            continue
        value = _cell(column, cells[column], field)
        if value is None and (not field.nullable or not field.create & Who.ADMIN):
            continue
        out[column.removeprefix(prefix)] = value
    return out


def _cell(column: str, text: str, field: Field) -> Any:
    if text == "":
        return None
    if field.kind is Kind.BOOL:
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise _CellError(column, f"Expected 'true' or 'false' in column '{column}'")
        return lowered == "true"
    if field.kind is Kind.METADATA:
        try:
            value = json.loads(text)
        except ValueError:
            raise _CellError(column, f"Column '{column}' must hold a JSON object") from None
        if not isinstance(value, dict):
            raise _CellError(column, f"Column '{column}' must hold a JSON object")
        return value
    return text


def _groups(text: str) -> list[str] | None:
    """The ``groups`` cell: a JSON array of names (an empty cell: no memberships given)."""
    if not text.strip():
        return None
    try:
        names = json.loads(text)
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _CellError(GROUPS, "Column 'groups' must hold a JSON array of group names")
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))
