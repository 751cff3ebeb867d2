"""What every export writer does, and the CSV machinery our CSV and Shopify's share."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

__all__ = ["CsvRows", "CsvWriterBase", "Doc", "Writer", "group_names", "live_addresses"]

Doc = Mapping[str, Any]
"""A stored document (a customer, a group) as MongoDB returns it."""


class Writer:
    """One export file's writer: its header, then the group lines, then the customer pages.

    Subclasses set the format's media type and file extension and write what they hold.
    """

    media_type: ClassVar[str]
    extension: ClassVar[str]
    group_lines: ClassVar[bool] = False
    """Whether the file has a line per group (before the customers)."""

    def header(self) -> bytes:
        """The file's first bytes (a CSV's header row); nothing by default."""
        return b""

    def groups(self, docs: Sequence[Doc]) -> bytes:
        """Lines for stored groups; formats without group lines write nothing."""
        return b""

    def customers(self, docs: Sequence[Doc], groups: Mapping[str, Doc]) -> bytes:
        """The lines of a page of stored customers; ``groups`` are the groups their
        memberships name (by id)."""
        raise NotImplementedError


class CsvRows:
    """Rows → CSV bytes (RFC 4180: quoted where needed, ``\\r\\n`` line ends, UTF-8)."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")

    def encode(self, rows: Iterable[Sequence[Any]]) -> bytes:
        """The rows as CSV (cells already text; ``None`` is an empty cell)."""
        self._csv.writerows(rows)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")


class CsvWriterBase(Writer):
    """A CSV layout: a header row of ``columns``, then the rows of each customer."""

    media_type = "text/csv; charset=utf-8"
    extension = "csv"
    columns: ClassVar[tuple[str, ...]]

    def __init__(self) -> None:
        self._rows = CsvRows()

    def header(self) -> bytes:
        """The header row."""
        return self._rows.encode([self.columns])

    def customers(self, docs: Sequence[Doc], groups: Mapping[str, Doc]) -> bytes:
        """The rows of a page of customers."""
        return self._rows.encode(row for doc in docs for row in self.rows(doc, groups))

    def rows(self, doc: Doc, groups: Mapping[str, Doc]) -> Iterable[Sequence[Any]]:
        """One customer's rows."""
        raise NotImplementedError


def live_addresses(doc: Doc) -> list[Doc]:
    """The customer's addresses that are not deleted, as stored (in their order)."""
    return [a for a in doc.get("addresses", ()) if a.get("deleted_at") is None]


def group_names(doc: Doc, groups: Mapping[str, Doc]) -> list[str]:
    """The names of the live groups the customer is a live member of, in joining order."""
    names = []
    for membership in doc.get("groups", ()):
        group = groups.get(membership["customer_group_id"])
        if membership.get("deleted_at") is None and group and group.get("deleted_at") is None:
            names.append(group["name"])
    return names
