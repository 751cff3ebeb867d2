"""The input bounds of the service: one place, the contract clients and tests rely on.

Everything a client sends is bounded, so no single request can make the service allocate, store
or compute without limit. The service layer enforces these (so HTTP, the CLI and every import
path get them), the HTTP models declare them in the OpenAPI document, and the README lists them.
A value over a limit is ``invalid_data`` naming the field and the limit.

Values already stored above a limit (written before the limit existed) stay readable, and
updates that do not touch such a field succeed: only input is checked.
"""

from __future__ import annotations

__all__ = [
    "MAX_ADDRESSES",
    "MAX_CUSTOMER_BYTES",
    "MAX_EMAIL_CHARS",
    "MAX_ID_CHARS",
    "MAX_INT",
    "MAX_LIST_ITEMS",
    "MAX_LIST_LIMIT",
    "MAX_MERGE_CUSTOMERS",
    "MAX_METADATA_BYTES",
    "MAX_METADATA_DEPTH",
    "MAX_Q_CHARS",
    "MAX_Q_WORDS",
    "MAX_TEXT_CHARS",
    "MIN_INT",
]

MAX_EMAIL_CHARS = 320  # an email address (RFC 5321: 64 local + @ + 255 domain)
MAX_TEXT_CHARS = 1_000  # every other text field: names, company, phone, address lines, ...
MAX_ID_CHARS = 64  # an id (ours are 30: a prefix and a ULID)
MAX_Q_CHARS = 512  # the search text `q`
MAX_Q_WORDS = 32  # whitespace-separated words in `q`
MAX_ADDRESSES = 200  # addresses of one customer
MAX_MERGE_CUSTOMERS = 20  # customers merged into one target in one merge
MAX_CUSTOMER_BYTES = 8 * 1024 * 1024  # one stored customer (BSON), addresses included
MAX_METADATA_DEPTH = 5  # nesting levels inside `metadata` (the object itself is level 1)
MAX_METADATA_BYTES = 64 * 1024  # `metadata` serialised as compact JSON, in bytes
MIN_INT, MAX_INT = -(2**63), 2**63 - 1  # numbers must be finite and fit a signed 64-bit integer
MAX_LIST_LIMIT = 1_000  # largest page a list returns
MAX_LIST_ITEMS = 1_000  # items of one list: a filter ($in, $or, ...), a batch body (add, remove)
