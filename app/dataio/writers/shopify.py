"""Shopify's customer CSV: the import template's 17 columns, led by Shopify's ``Customer ID``.

The address columns come from the default shipping address (else the first live one); Tags are
the group names joined by ``", "``; ``Customer ID``, Note and the yes/no flags come from
``metadata["shopify"]`` (what an import of Shopify's file kept there). A flag we know nothing
about is written ``no``: consent to marketing is never assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.dataio.layout import SHOPIFY_EXPORT_COLUMNS, SHOPIFY_KEY, SHOPIFY_METADATA_FIELDS
from app.dataio.writers.base import CsvWriterBase, Doc, group_names, live_addresses

__all__ = ["ShopifyWriter"]

_FLAGS = frozenset({"Accepts Email Marketing", "Accepts SMS Marketing", "Tax Exempt"})

_CUSTOMER_COLUMNS = {
    "First Name": "first_name",
    "Last Name": "last_name",
    "Email": "email",
    "Phone": "phone",
}
_ADDRESS_COLUMNS = {
    "Default Address Company": "company",
    "Default Address Address1": "address_1",
    "Default Address Address2": "address_2",
    "Default Address City": "city",
    "Default Address Province Code": "province",
    "Default Address Zip": "postal_code",
    "Default Address Phone": "phone",
}
_COUNTRY = "Default Address Country Code"  # ours are lower-case (Medusa's), Shopify's upper


class _Row:
    """One customer as Shopify's columns read it."""

    def __init__(self, doc: Doc, groups: Mapping[str, Doc]) -> None:
        self.doc = doc
        self.groups = groups
        metadata = doc.get("metadata") or {}
        shopify = metadata.get(SHOPIFY_KEY)
        self.shopify: Mapping[str, Any] = shopify if isinstance(shopify, Mapping) else {}
        self.address = _default_address(doc)

    def cells(self) -> list[str | None]:
        return [self.value(column) for column in SHOPIFY_EXPORT_COLUMNS]

    def value(self, column: str) -> str | None:
        if column in _CUSTOMER_COLUMNS:
            return _text(self.doc.get(_CUSTOMER_COLUMNS[column]))
        if column in _ADDRESS_COLUMNS:
            return _text(self.address.get(_ADDRESS_COLUMNS[column]))
        if column == _COUNTRY:
            country = _text(self.address.get("country_code"))
            return country.upper() if country else country
        if column == "Tags":
            return ", ".join(group_names(self.doc, self.groups))
        kept = self.shopify.get(SHOPIFY_METADATA_FIELDS[column])
        return _flag(kept) if column in _FLAGS else _text(kept)


class ShopifyWriter(CsvWriterBase):
    """Shopify's customer CSV (:data:`~app.dataio.layout.SHOPIFY_EXPORT_COLUMNS`)."""

    columns = SHOPIFY_EXPORT_COLUMNS

    def rows(self, doc: Doc, groups: Mapping[str, Doc]) -> list[list[str | None]]:
        """One row per customer."""
        return [_Row(doc, groups).cells()]


def _default_address(doc: Doc) -> Doc:
    """The default shipping address, else the first live one, else nothing."""
    addresses = live_addresses(doc)
    for address in addresses:
        if address.get("is_default_shipping"):
            return address
    return addresses[0] if addresses else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _flag(value: Any) -> str:
    """Shopify's ``yes``/``no`` from what the import kept (a boolean, or Shopify's own text)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.strip():
        return value.strip().lower()
    return "no"
