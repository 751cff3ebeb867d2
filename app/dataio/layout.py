"""The three file layouts customers move in and out in, written down once for import and export.

- **Our JSONL** is a restore format: one line per group first (``type: customer_group``, groups
  without members too), then one line per customer (``type: customer``) with its addresses and
  memberships embedded as stored, ids, timestamps and ``deleted_at`` included, so export → import
  into an empty database → export gives the same lines.
- **Our CSV** is flat for spreadsheets: one row per live address (a customer without addresses is
  one row with empty address cells), the rows of one customer keyed by ``id``; group names as a
  JSON array in ``groups``; ``metadata`` cells are JSON objects.
- **Shopify's customer CSV** is the template of Shopify's admin import (and the columns its export
  adds). What has no field of ours goes into ``metadata["shopify"]`` (:data:`SHOPIFY_KEY`).

Dates are ISO-8601 UTC with milliseconds and ``Z`` (BSON keeps milliseconds), so a written date
reads back as the same stored value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from app.entities import ADDRESS, CUSTOMER, GROUP, MEMBERSHIP

__all__ = [
    "ADDRESS_PREFIX",
    "CSV_ADDRESS_COLUMNS",
    "CSV_HEADER",
    "JSONL_ADDRESS_KEYS",
    "JSONL_CUSTOMER_KEYS",
    "JSONL_GROUP_KEYS",
    "JSONL_MEMBERSHIP_KEYS",
    "JSONL_OPTIONAL_KEYS",
    "SHOPIFY_COLUMNS",
    "SHOPIFY_EXPORT_COLUMNS",
    "SHOPIFY_KEY",
    "SHOPIFY_METADATA_FIELDS",
    "Format",
    "format_date",
    "parse_date",
]


class Format(StrEnum):
    """A file layout, by the name ``--format`` and ``?format=`` take."""

    JSONL = "jsonl"
    CSV = "csv"
    SHOPIFY = "shopify"


# -- our JSONL -------------------------------------------------------------------------------

JSONL_GROUP_KEYS: tuple[str, ...] = ("type", *GROUP.columns)
"""A group line: ``{"type": "customer_group", "id", "name", "metadata", …timestamps}``."""

JSONL_CUSTOMER_KEYS: tuple[str, ...] = ("type", *CUSTOMER.columns, "addresses", "groups")
"""A customer line, in this key order, then :data:`JSONL_OPTIONAL_KEYS` when set."""

JSONL_OPTIONAL_KEYS: tuple[str, ...] = ("merged_into", "provenance")
"""Internal customer fields a restore keeps; written only when they hold a value."""

JSONL_ADDRESS_KEYS: tuple[str, ...] = ADDRESS.columns
"""Each element of a customer line's ``addresses``: every stored address field (deleted
addresses too, with their ``deleted_at``)."""

JSONL_MEMBERSHIP_KEYS: tuple[str, ...] = MEMBERSHIP.columns
"""Each element of a customer line's ``groups``: the membership as stored (its ``cusgc_`` id)."""

# -- our CSV ---------------------------------------------------------------------------------

ADDRESS_PREFIX = "address."
"""Address columns are the address's fields under this prefix (``address.city``)."""

_ADDRESS_SKIPPED = frozenset({"customer_id", "created_at", "updated_at", "deleted_at"})

CSV_ADDRESS_COLUMNS: tuple[str, ...] = tuple(
    ADDRESS_PREFIX + name for name in ADDRESS.columns if name not in _ADDRESS_SKIPPED
)
"""``address.id``, ``address.address_name`` … ``address.metadata``."""

CSV_HEADER: tuple[str, ...] = (*CUSTOMER.columns, "groups", *CSV_ADDRESS_COLUMNS)
"""Our CSV's header: the customer's columns, ``groups`` (names, a JSON array), the address's."""

# -- Shopify's customer CSV -------------------------------------------------------------------

SHOPIFY_COLUMNS: tuple[str, ...] = (
    "First Name",
    "Last Name",
    "Email",
    "Accepts Email Marketing",
    "Default Address Company",
    "Default Address Address1",
    "Default Address Address2",
    "Default Address City",
    "Default Address Province Code",
    "Default Address Country Code",
    "Default Address Zip",
    "Default Address Phone",
    "Phone",
    "Accepts SMS Marketing",
    "Tags",
    "Note",
    "Tax Exempt",
)
"""The 17 columns of Shopify's customer import template, in its order."""

SHOPIFY_EXPORT_COLUMNS: tuple[str, ...] = ("Customer ID", *SHOPIFY_COLUMNS)
"""What an export in Shopify's layout writes: the template, led by Shopify's customer id."""

SHOPIFY_KEY = "shopify"
"""``metadata[SHOPIFY_KEY]`` holds what Shopify has and we have no field for."""

SHOPIFY_METADATA_FIELDS: dict[str, str] = {
    "Customer ID": "customer_id",
    "Note": "note",
    "Accepts Email Marketing": "accepts_email_marketing",
    "Accepts SMS Marketing": "accepts_sms_marketing",
    "Tax Exempt": "tax_exempt",
}
"""Shopify column → key under ``metadata["shopify"]``; any other column without a field of ours
goes under ``metadata["shopify"]["columns"]`` by its Shopify name."""

# -- dates -----------------------------------------------------------------------------------


def format_date(value: datetime | None) -> str | None:
    """``2026-11-30T04:55:00.123Z``: UTC, milliseconds (a naive datetime is taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is not None:  # isoformat: 1.6x faster than strftime, per date of an export
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def parse_date(text: str) -> datetime:
    """Read an ISO-8601 date (``Z`` or an offset; naive means UTC) as an aware UTC datetime
    truncated to milliseconds; ``ValueError`` when it is not one."""
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    return parsed.replace(microsecond=parsed.microsecond - parsed.microsecond % 1000)
