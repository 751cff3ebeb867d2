"""The errors the customer module raises on purpose.

Every one of them is a :class:`CustomerModuleError`, whose ``type`` is the Medusa error type
that the HTTP layer maps to a status code (the mapping lives in ``app.api``, not here)::

    CustomerModuleError            type: unknown_error
     ├── NotFound                  type: not_found
     ├── InvalidData               type: invalid_data
     ├── DuplicateError            type: duplicate_error
     ├── NotAllowed                type: not_allowed
     │    ├── RateLimited          (too many attempts: HTTP 429 + Retry-After)
     │    └── Forbidden            (the credentials' scope does not allow it: HTTP 403)
     ├── Conflict                  type: conflict
     │    └── PreconditionFailed   type: precondition_failed (If-Match: HTTP 412)
     ├── Unauthorized              type: unauthorized
     └── Unavailable               type: unexpected_state (retry later: HTTP 503 + Retry-After)

Messages are Medusa's own wording, fixed here so that every user-facing string of the module
lives in this one file. A message that repeats client input quotes at most
:data:`QUOTE_CHARS` characters of it (:func:`quote`): a 1 MB value must not come back in an error.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "QUOTE_CHARS",
    "Conflict",
    "CustomerModuleError",
    "DuplicateError",
    "Forbidden",
    "InvalidData",
    "NotAllowed",
    "NotFound",
    "PreconditionFailed",
    "RateLimited",
    "Unauthorized",
    "Unavailable",
    "account_exists",
    "address_not_found",
    "cannot_be_null",
    "default_address_conflict",
    "duplicate_customer_email",
    "duplicate_group_name",
    "email_required",
    "entity_not_found",
    "id_must_be_defined",
    "identity_already_linked",
    "merge_conflict",
    "merge_deleted",
    "merge_duplicate",
    "merge_into_itself",
    "merge_keep_address",
    "merge_keep_outside",
    "merge_metadata_too_large",
    "merge_too_many_addresses",
    "merge_two_accounts",
    "missing_ids",
    "quote",
    "relationship_not_found",
    "restore_merged",
]

QUOTE_CHARS = 100  # characters of a client's value an error message may repeat


class CustomerModuleError(Exception):
    """Base of every error raised on purpose; ``type`` is the API error type."""

    type: str = "unknown_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """Return the ``{type, message}`` body the HTTP layer sends."""
        return {"type": self.type, "message": self.message}


class NotFound(CustomerModuleError):
    """The entity asked for does not exist (or is soft-deleted)."""

    type = "not_found"


class InvalidData(CustomerModuleError):
    """The input is malformed or breaks a rule of the data model."""

    type = "invalid_data"


class DuplicateError(CustomerModuleError):
    """The input duplicates something that must be unique (HTTP 422)."""

    type = "duplicate_error"


class NotAllowed(CustomerModuleError):
    """The operation is not allowed in this state."""

    type = "not_allowed"


class RateLimited(NotAllowed):
    """Too many attempts from one client: refused until ``retry_after`` seconds have passed."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many requests; retry in {retry_after} seconds")
        self.retry_after = retry_after


class Forbidden(NotAllowed):
    """The caller is authenticated, but its credentials' scope does not allow the request."""


class Conflict(CustomerModuleError):
    """A concurrent writer won and the operation could not be completed (HTTP 409)."""

    type = "conflict"


class PreconditionFailed(Conflict):
    """The entity changed since the version the write was based on (its ETag no longer
    matches ``If-Match``); nothing was written."""

    type = "precondition_failed"


class Unauthorized(CustomerModuleError):
    """The caller is not authenticated."""

    type = "unauthorized"


class Unavailable(CustomerModuleError):
    """Not now: the database is unreachable, the service is overloaded, or a query ran out of
    its time budget. Nothing was changed; the client may retry after ``retry_after`` seconds."""

    type = "unexpected_state"

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """``value`` as text for an error message, cut to ``limit`` characters (``…`` marks a cut)."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- message builders: Medusa's exact wording ------------------------------------------------


def _bool(value: object) -> str:
    return "true" if value else "false"


def entity_not_found(model: str, entity_id: str) -> NotFound:
    """``Customer with id: <id> was not found`` (module retrieve miss)."""
    return NotFound(f"{model} with id: {quote(entity_id)} was not found")


def missing_ids(model: str, ids: Iterable[str]) -> NotFound:
    """``Customer with id "<a>, <b>" not found`` (module update by missing ids)."""
    return NotFound(f'{model} with id "{quote(", ".join(ids))}" not found')


def id_must_be_defined(entity: str) -> NotFound:
    """``customer - id must be defined`` (retrieve with no id)."""
    return NotFound(f"{entity} - id must be defined")


def duplicate_customer_email(email: str | None, has_account: bool) -> InvalidData:
    """The unique (email, has_account) rule among live customers was broken."""
    return InvalidData(
        f"Customer with email: {quote(email)}, has_account: {_bool(has_account)}, already exists."
    )


def account_exists() -> DuplicateError:
    """A live customer with this email already has an account (store registration)."""
    return DuplicateError("Customer with this email already has an account")


def email_required() -> InvalidData:
    """A store registration without an email."""
    return InvalidData("Email is required to create a customer")


def identity_already_linked() -> InvalidData:
    """The auth identity already has a customer (Medusa says this as a 500; we say 400)."""
    return InvalidData("Key customer_id already exists in app metadata")


def duplicate_group_name(name: str) -> InvalidData:
    """The unique group name rule among live groups was broken."""
    return InvalidData(f"Customer group with name: {quote(name)}, already exists.")


def cannot_be_null(label: str, field: str) -> InvalidData:
    """Input set a field that never holds null (a group's name, a default flag) to null."""
    return InvalidData(f"Cannot set field '{quote(field)}' of {label} to null")


def default_address_conflict(customer_id: str) -> InvalidData:
    """One call asked for two defaults of the same kind for one customer."""
    return InvalidData(f"Customer address with customer_id: {quote(customer_id)}, already exists.")


def relationship_not_found(column: str, value: str) -> NotFound:
    """A reference (customer_id, customer_group_id) points at nothing."""
    return NotFound(
        f"You tried to set relationship {column}: {quote(value)}, but such entity does not exist"
    )


def address_not_found(address_id: str) -> NotFound:
    """A store customer asked for an address that is not theirs."""
    return NotFound(f"Address with id: {quote(address_id)} was not found")


# --- merging customers (our extension): ids and field names only, never customer values ------


def merge_into_itself(customer_id: str) -> InvalidData:
    """A merge listed its target among the customers merged into it."""
    return InvalidData(
        f"Invalid request: Customer {quote(customer_id)} cannot be merged into itself"
    )


def restore_merged(customer_id: str, target_id: str) -> InvalidData:
    """A restore named a customer merged into another: its addresses, memberships and sign-in
    live on in the survivor, so bringing it back would duplicate them."""
    return InvalidData(
        f"Invalid request: Customer {quote(customer_id)} was merged into {quote(target_id)} "
        "and cannot be restored"
    )


def merge_deleted(customer_id: str) -> InvalidData:
    """A merge named a deleted customer (or one merged into another customer)."""
    return InvalidData(
        f"Invalid request: Customer {quote(customer_id)} is deleted; deleted customers cannot "
        "be merged"
    )


def merge_two_accounts(customer_ids: Iterable[str]) -> InvalidData:
    """Two accounts with different emails, and no ``keep.email`` saying which one stays."""
    return InvalidData(
        f"Invalid request: Customers {quote(', '.join(customer_ids))} are accounts with "
        "different emails; say which email the merged account keeps with keep.email"
    )


def merge_keep_outside(field: str) -> InvalidData:
    """``keep`` named a customer that is not part of the merge."""
    return InvalidData(
        f"Invalid request: Field 'keep.{quote(field)}' must name the target or one of customer_ids"
    )


def merge_keep_address(field: str) -> InvalidData:
    """``keep`` named an address that is not a live address of the customers merged."""
    return InvalidData(
        f"Invalid request: Field 'keep.{quote(field)}' must name a live address of the "
        "customers merged"
    )


def merge_too_many_addresses(customer_id: str, count: int, limit: int) -> InvalidData:
    """The merged customer would hold more addresses than one customer may."""
    return InvalidData(
        f"Invalid request: Field 'addresses' must have at most {limit} items (customer "
        f"{quote(customer_id)} would have {count} after the merge)"
    )


def merge_metadata_too_large(size: int, limit: int) -> InvalidData:
    """The merged metadata would be larger than metadata may be."""
    return InvalidData(
        f"Invalid request: Field 'metadata' must be at most {limit} bytes of JSON (the merged "
        f"metadata would take {size})"
    )


def merge_duplicate(customer_id: str, other_id: str) -> InvalidData:
    """The merged customer's (email, has_account) would be another live customer's."""
    return InvalidData(
        f"Invalid request: After the merge, customer {quote(customer_id)} would have the same "
        f"email and has_account as customer {quote(other_id)}; merge that customer too or keep "
        "another email"
    )


def merge_conflict(customer_id: str) -> Conflict:
    """A concurrent write kept changing the customers of a merge."""
    return Conflict(
        f"Customer with id: {quote(customer_id)} is being changed concurrently; nothing was "
        "merged, try again"
    )
