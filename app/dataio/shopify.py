"""Shopify's customer CSV (its admin's import template, and its export's extra columns) as rows.

The mapping (also in the README):

- First Name, Last Name, Email, Phone → the customer's fields; every row is a guest
  (``has_account`` false): account credentials cannot be migrated.
- The Default Address columns → one address, the default shipping and billing address
  (country codes lower-cased, as ours are).
- Tags → memberships of the groups of those names (comma-separated, trimmed, empty ones
  ignored; missing groups are created by the import).
- Customer ID, Note, Accepts Email Marketing, Accepts SMS Marketing and Tax Exempt →
  ``metadata["shopify"]`` (:data:`~app.dataio.layout.SHOPIFY_METADATA_FIELDS`), every other
  column → ``metadata["shopify"]["columns"]`` by its name; empty cells are left out.

An empty cell is "not given": an existing customer matched by the import keeps that field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.dataio.layout import SHOPIFY_KEY, SHOPIFY_METADATA_FIELDS
from app.dataio.rows import Row, content_id
from app.dataio.table import Table, TableRow

__all__ = ["SHOPIFY_ADDRESS", "SHOPIFY_CUSTOMER", "read_shopify"]

SHOPIFY_CUSTOMER: dict[str, str] = {
    "First Name": "first_name",
    "Last Name": "last_name",
    "Email": "email",
    "Phone": "phone",
}
"""Shopify column → customer field."""

SHOPIFY_ADDRESS: dict[str, str] = {
    "Default Address Company": "company",
    "Default Address Address1": "address_1",
    "Default Address Address2": "address_2",
    "Default Address City": "city",
    "Default Address Province Code": "province",
    "Default Address Country Code": "country_code",
    "Default Address Zip": "postal_code",
    "Default Address Phone": "phone",
}
"""Shopify column → field of the default address."""

TAGS = "Tags"
_MAPPED = {*SHOPIFY_CUSTOMER, *SHOPIFY_ADDRESS, *SHOPIFY_METADATA_FIELDS, TAGS}
_COLUMNS: dict[str, str] = {
    **{field: column for column, field in SHOPIFY_CUSTOMER.items()},
    **{f"addresses.{field}": column for column, field in SHOPIFY_ADDRESS.items()},
    "addresses": "Default Address",
    "groups": TAGS,
    "metadata": "Note",
}
"""Field path → Shopify column, to name a failing field (metadata's size is mostly the Note)."""


def read_shopify(table: Table) -> Iterator[Row]:
    """Each row of a Shopify customer CSV as a customer :class:`Row`."""
    for row in table:
        yield _row(row)


def _row(row: TableRow) -> Row:
    if row.problem is not None:
        return Row(row.line, "customer", raw=[row.raw], columns=_COLUMNS, problem=row.problem)
    cells = {name: value.strip() for name, value in row.cells.items() if value.strip()}
    values: dict[str, Any] = {
        field: cells[column] for column, field in SHOPIFY_CUSTOMER.items() if column in cells
    }
    values["has_account"] = False
    shopify = _shopify_metadata(cells)
    if shopify:
        values["metadata"] = {SHOPIFY_KEY: shopify}
    address = {field: cells[column] for column, field in SHOPIFY_ADDRESS.items() if column in cells}
    addresses = []
    if address:
        if "country_code" in address:
            address["country_code"] = address["country_code"].lower()
        addresses.append({**address, "is_default_shipping": True, "is_default_billing": True})
    if "email" not in values:
        seed = cells.get("Customer ID")
        values["id"] = content_id(
            f"shopify:{seed}" if seed else "shopify-row:" + "\x1f".join(row.raw)
        )
    return Row(
        row.line,
        "customer",
        values=values,
        addresses=addresses,
        group_names=_tags(cells.get(TAGS, "")),
        raw=[row.raw],
        columns=_COLUMNS,
    )


def _shopify_metadata(cells: dict[str, str]) -> dict[str, Any]:
    """``metadata["shopify"]``: the Shopify values that have no field of ours."""
    out: dict[str, Any] = {
        key: cells[column] for column, key in SHOPIFY_METADATA_FIELDS.items() if column in cells
    }
    extra = {name: value for name, value in cells.items() if name not in _MAPPED}
    if extra:
        out["columns"] = extra
    return out


def _tags(text: str) -> list[str]:
    """Shopify's tags: comma-separated, trimmed, empty ones dropped, each once."""
    return list(dict.fromkeys(tag.strip() for tag in text.split(",") if tag.strip()))
