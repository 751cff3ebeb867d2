"""Our CSV: one row per live address (a customer without one is one row), group names as a
JSON array, metadata as JSON objects, booleans ``true``/``false``, null as an empty cell."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from app.dataio.layout import ADDRESS_PREFIX, CSV_ADDRESS_COLUMNS, CSV_HEADER
from app.dataio.writers.base import CsvWriterBase, Doc, group_names, live_addresses
from app.dataio.writers.cells import cell, to_json
from app.entities import CUSTOMER

__all__ = ["CsvWriter"]

_ADDRESS_FIELDS = tuple(column.removeprefix(ADDRESS_PREFIX) for column in CSV_ADDRESS_COLUMNS)
_EMPTY_ADDRESS: tuple[None, ...] = (None,) * len(_ADDRESS_FIELDS)
_ID = CUSTOMER.field("id").path


class CsvWriter(CsvWriterBase):
    """Our flat CSV (:data:`~app.dataio.layout.CSV_HEADER`)."""

    columns = CSV_HEADER

    def rows(self, doc: Doc, groups: Mapping[str, Doc]) -> Iterator[list[Any]]:
        """A row per live address, or one with empty address cells."""
        customer = [cell(doc.get(_ID if name == "id" else name)) for name in CUSTOMER.columns]
        customer.append(to_json(group_names(doc, groups)))
        addresses = live_addresses(doc)
        if not addresses:
            yield [*customer, *_EMPTY_ADDRESS]
        for address in addresses:
            yield [*customer, *(cell(address.get(name)) for name in _ADDRESS_FIELDS)]
