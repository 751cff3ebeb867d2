"""What one row does: create a customer, change one, or nothing; decided without I/O.

The import engine looks up what each row matches (by ``id``, else by email and
``has_account``) and which groups it names, then asks :func:`plan_customer` (or
:func:`plan_group`) for the document the row would leave. Equal to the stored one (its
``version`` and ``updated_at`` aside), the row is *unchanged* and nothing is written: that is
what makes a second run of the same file write nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.dataio.rows import Row
from app.errors import InvalidData, duplicate_customer_email, entity_not_found, quote
from app.service.importing.checks import RowFailure, checked
from app.service.importing.merge import changed_customer, created_customer
from app.service.importing.restore import restored_customer, restored_group
from app.service.inputs import CreateCustomer
from app.service.store import RawDoc, check_document_size

__all__ = ["Action", "Mode", "Plan", "Setting", "match_key", "plan_customer", "plan_group"]


class Mode(StrEnum):
    """What an import may do: create only, update only, or both (the default)."""

    CREATE = "create"
    UPSERT = "upsert"
    UPDATE = "update"


class Action(StrEnum):
    """What a row did (or, in a dry run, would do)."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Setting:
    """What every row of one import shares: its mode, its time, who runs it, and where the
    rows came from (``provenance.imported`` of the customers it creates, but the line).
    ``dry_groups``: the group ids a dry run's group lines would have written, which its
    customer lines may name."""

    mode: Mode
    now: datetime
    actor: str | None
    origin: Mapping[str, Any]
    dry_groups: set[str] = field(default_factory=set)


@dataclass
class Plan:
    """The document a row leaves, and the stored ``version`` an update replaces."""

    action: Action
    doc: RawDoc
    version: int | None = None


_VOLATILE = ("version", "updated_at")


def match_key(values: Mapping[str, Any]) -> tuple[str, Any] | None:
    """How a row finds its stored customer: ``("id", id)``, ``("email", (email,
    has_account))`` or ``None`` (a new customer)."""
    customer_id = values.get("id")
    if isinstance(customer_id, str) and customer_id:
        return ("id", customer_id)
    email = values.get("email")
    if isinstance(email, str) and email.strip():
        return ("email", (email.strip().lower(), values.get("has_account") is True))
    return None


def plan_customer(
    row: Row,
    stored: RawDoc | None,
    setting: Setting,
    *,
    group_ids: Sequence[str] = (),
    known_groups: Collection[str] = (),
) -> Plan:
    """The plan of a customer row (``stored``: the customer it matched, if any)."""
    _check_mode(row, stored, setting.mode)
    if row.restore:
        doc = restored_customer(row, stored, setting.now, known_groups)
    else:
        item = checked(CreateCustomer, {**row.values, "addresses": row.addresses})
        if stored is None:
            origin = {**setting.origin, "line": row.line}
            doc = created_customer(
                item, group_ids, actor=setting.actor, provenance=origin, now=setting.now
            )
        else:
            doc = changed_customer(item, stored, group_ids, actor=setting.actor, now=setting.now)
    return _finish(doc, stored, setting.now, keep_updated_at=row.restore)


def plan_group(row: Row, stored: RawDoc | None, setting: Setting) -> Plan:
    """The plan of a JSONL group line (``stored``: the group with its id, if any)."""
    if stored is None and setting.mode is Mode.UPDATE:
        raise RowFailure.of(entity_not_found("CustomerGroup", str(row.values.get("id"))), "id")
    if stored is not None and setting.mode is Mode.CREATE:
        message = f"Customer group with id: {quote(stored['_id'])}, already exists."
        raise RowFailure("id", f"Invalid request: {message}")
    return _finish(restored_group(row, stored, setting.now), stored, setting.now, True)


def _check_mode(row: Row, stored: RawDoc | None, mode: Mode) -> None:
    """Create-only fails rows that exist; update-only fails rows that do not."""
    key = match_key(row.values)
    if stored is None and mode is Mode.UPDATE:
        if key is not None and key[0] == "email":
            email, _ = key[1]
            raise RowFailure("email", f"Customer with email: {quote(email)} was not found")
        raise RowFailure.of(entity_not_found("Customer", str(row.values.get("id"))), "id")
    if stored is not None and mode is Mode.CREATE:
        if key is not None and key[0] == "id":
            message = f"Customer with id: {quote(stored['_id'])}, already exists."
            raise RowFailure("id", f"Invalid request: {message}")
        error = duplicate_customer_email(stored.get("email"), bool(stored.get("has_account")))
        raise RowFailure.of(error, "email")


def _finish(doc: RawDoc, stored: RawDoc | None, now: datetime, keep_updated_at: bool) -> Plan:
    """Created, unchanged, or updated (with a new ``version``, and ``updated_at`` unless the
    row restores its own)."""
    try:
        check_document_size(doc, stored)
    except InvalidData as exc:
        raise RowFailure.of(exc) from None
    if stored is None:
        return Plan(Action.CREATED, doc)
    if _same(doc, stored, keep_updated_at):
        return Plan(Action.UNCHANGED, stored)
    version = int(stored.get("version", 0))
    doc["version"] = version + 1
    if not keep_updated_at:
        doc["updated_at"] = now
    return Plan(Action.UPDATED, doc, version)


def _same(doc: RawDoc, stored: RawDoc, with_updated_at: bool) -> bool:
    ignored = ("version",) if with_updated_at else _VOLATILE
    keys = (set(doc) | set(stored)) - set(ignored)
    return all(doc.get(key) == stored.get(key) for key in keys)
