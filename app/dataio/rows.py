"""What an import reader yields: one record of a file, read but not yet validated.

A reader only knows its file layout; it turns a line (JSONL) or the rows of one customer (CSV)
into a :class:`Row` in the service's vocabulary (field names, nested addresses, memberships).
Whether the values are acceptable is the service's business: the import engine validates a row
with the same input models as every other write.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.entities import CUSTOMER

__all__ = ["FileError", "Problem", "Row", "content_id"]


class FileError(ValueError):
    """The file as a whole cannot be read (unknown layout, header, encoding); no row is."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one row cannot be imported: the field (its column name in the file when it has
    one) and the message."""

    field: str
    message: str


@dataclass(slots=True)
class Row:
    """One record: a customer (with its addresses and memberships) or a group (JSONL).

    :param line: the file's line number where the record starts (the header is line 1).
    :param kind: ``customer`` or ``group``.
    :param values: the record's own fields, named as the service names them.
    :param addresses: the customer's addresses (each a dict of address fields).
    :param group_names: memberships by group name (CSV, Shopify); ``None``: not given.
    :param memberships: memberships as stored (JSONL); ``None``: not given.
    :param restore: JSONL's privileged path: ids, timestamps, ``deleted_at``, ``merged_into``
        and ``provenance`` as written, and the stored document becomes exactly the line.
    :param raw: the original, for the error file (a JSON line, or the CSV rows).
    :param columns: field path → the file's column name, to name a failing field.
    :param problem: set when the record could not even be read.
    """

    line: int
    kind: str
    values: dict[str, Any] = field(default_factory=dict)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    group_names: list[str] | None = None
    memberships: list[Any] | None = None
    restore: bool = False
    raw: str | Sequence[Sequence[str]] = ""
    columns: Mapping[str, str] = field(default_factory=dict)
    problem: Problem | None = None

    def column(self, path: str) -> str:
        """The file's name for the field at ``path`` (``addresses.0.city`` → its column)."""
        if path in self.columns:
            return self.columns[path]
        parts = path.split(".")
        if len(parts) >= 3 and parts[0] == "addresses" and parts[1].isdigit():
            generic = f"addresses.{parts[2]}"
            return self.columns.get(generic, path)
        return self.columns.get(parts[0], path)


def content_id(seed: str) -> str:
    """A customer id derived from ``seed`` (the same seed, the same id).

    Rows with neither an id nor an email cannot be matched on a second run by anything else,
    so the customer they create gets this id: importing the file again (or the rest of an
    interrupted import) finds it instead of creating a duplicate. It has the shape of our ids
    (a prefix and 26 Crockford base32 characters) but does not sort by creation time.
    """
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()[:20]
    text = base64.b32encode(digest).decode("ascii")[:26]
    return f"{CUSTOMER.id_prefix}_{text.translate(_TO_CROCKFORD)}"


_TO_CROCKFORD = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)
