"""Which value survives a merge of customers: pure rules, no I/O (the writes are
:mod:`app.service.merging`, the input and report models :mod:`app.service.merge_models`), so
unit tests reach them directly.

A merge keeps the *target* (its id) and folds the *sources* into it:

- **fields**: every public, non-system customer field (read from the declaration, so a field
  declared later merges too) comes from the customer ``keep`` names for it; else an account
  beats a guest, then the most recently updated customer with a non-empty value (ties: the
  target, then the order given). ``has_account`` follows the same rule, so the result is an
  account when any customer merged is one; it cannot be chosen with ``keep``.
- **metadata**: the union of the keys; for a key several customers hold, ``keep.metadata``'s
  customer wins, else the target, else the sources in the field order above.
- **addresses**: the union of the live ones; a source address equal to one already kept (every
  address field compared, ids, owner, timestamps and default flags not) collapses into it.
  Moved addresses keep their ids. Each default (shipping, billing) is the address ``keep``
  names, else the target's, else the first default of the customers in the field order.
- **memberships**: the union, a set of groups (a source's membership of a group the target is
  already in stays behind).

Refused (``invalid_data``): two accounts with different emails unless ``keep.email`` says which,
a ``keep`` naming a customer outside the merge or an address that is not one of their live
ones, and a result over a limit (addresses per customer, metadata size). Values quoted in the
report are customer data; messages name ids and fields, never values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from app import errors
from app.bounded import metadata_bytes
from app.entities import ADDRESS, CUSTOMER
from app.entities import Field as Declared
from app.entities.values import phone_digits
from app.limits import MAX_ADDRESSES, MAX_METADATA_BYTES
from app.service.documents import q_terms
from app.service.merge_models import (
    DEFAULT_KEYS,
    MERGEABLE,
    AddressOutcome,
    FieldConflict,
    MembershipOutcome,
    MergedSource,
    MergeReport,
    MetadataConflict,
    Rule,
    ValueFrom,
)
from app.service.rules import DEFAULT_FLAGS
from app.service.store import RawDoc

__all__ = ["Plan", "plan"]

_ADDRESS_CONTENT = tuple(
    f.path
    for f in ADDRESS.stored
    if not f.system and not f.internal and f.name not in ("customer_id", *DEFAULT_FLAGS)
)
"""What makes two addresses the same address: every address field but ids, owner, stamps
and default flags."""


@dataclass
class Plan:
    """A merge worked out: the target's new fields, each source's, and the report."""

    target: RawDoc
    sources: dict[str, RawDoc]
    report: MergeReport


# --- the rules -------------------------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {}


def _order(target: RawDoc, sources: Sequence[RawDoc]) -> list[RawDoc]:
    """The customers best first: accounts, then the most recently updated, then the target,
    then as given."""
    docs = [target, *sources]
    rank = {id(doc): i for i, doc in enumerate(docs)}
    return sorted(
        docs,
        key=lambda d: (not d.get("has_account"), -_stamp(d.get("updated_at")), rank[id(d)]),
    )


def _stamp(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else 0.0


def _keep_doc(keep: Mapping[str, Any], name: str, by_id: Mapping[str, RawDoc]) -> RawDoc | None:
    chosen = keep.get(name)
    if chosen is None:
        return None
    if chosen not in by_id:
        raise errors.merge_keep_outside(name)
    return by_id[chosen]


def _choose(
    declared: Declared, ordered: list[RawDoc], chosen: RawDoc | None
) -> tuple[RawDoc, FieldConflict | None]:
    """The customer whose value of ``declared`` survives, and the conflict (if any)."""
    path = declared.path
    present = [d for d in ordered if not _empty(d.get(path))]
    winner = chosen or (present[0] if present else ordered[0])
    value = winner.get(path)
    differing = [d for d in present if d.get(path) != value]
    if not differing:
        return winner, None
    if chosen is not None:
        rule: Rule = "keep"
    elif winner.get("has_account") and not any(d.get("has_account") for d in differing):
        rule = "account beats guest"
    else:
        rule = "most recently updated"
    values = [ValueFrom(customer_id=d["_id"], value=d.get(path)) for d in present]
    return winner, FieldConflict(
        field=declared.name, values=values, winner=winner["_id"], rule=rule
    )


def _fields(
    ordered: list[RawDoc], keep: Mapping[str, Any], by_id: Mapping[str, RawDoc]
) -> tuple[RawDoc, list[FieldConflict]]:
    accounts = {d.get("email") for d in ordered if d.get("has_account")}
    if len(accounts) > 1 and keep.get("email") is None:
        raise errors.merge_two_accounts([d["_id"] for d in ordered if d.get("has_account")])
    out: RawDoc = {}
    conflicts = []
    for declared in MERGEABLE:
        winner, conflict = _choose(declared, ordered, _keep_doc(keep, declared.name, by_id))
        out[declared.path] = winner.get(declared.path)
        if declared.digits:
            out[declared.digits] = phone_digits(out[declared.path])
        if conflict is not None:
            conflicts.append(conflict)
    return out, conflicts


def _metadata(
    target: RawDoc, ordered: list[RawDoc], chosen: RawDoc | None
) -> tuple[dict[str, Any] | None, list[MetadataConflict]]:
    first = [d for d in (chosen, target) if d is not None]
    order = [*first, *(d for d in ordered if all(d is not f for f in first))]
    merged: dict[str, Any] = {}
    winners: dict[str, str] = {}
    holders: dict[str, list[ValueFrom]] = {}
    for doc in order:
        for key, value in (doc.get("metadata") or {}).items():
            holders.setdefault(key, []).append(ValueFrom(customer_id=doc["_id"], value=value))
            if key not in merged:
                merged[key], winners[key] = value, doc["_id"]
    conflicts = [
        MetadataConflict(key=key, values=values, winner=winners[key])
        for key, values in holders.items()
        if any(v.value != merged[key] for v in values)
    ]
    if not merged and all(d.get("metadata") is None for d in order):
        return None, conflicts
    size = metadata_bytes(merged)
    if size > MAX_METADATA_BYTES:
        raise errors.merge_metadata_too_large(size, MAX_METADATA_BYTES)
    return merged, conflicts


def _address_key(address: Mapping[str, Any]) -> tuple[Any, ...]:
    """An address's content, comparable and hashable (empty values all alike)."""
    return tuple(_comparable(address.get(path)) for path in _ADDRESS_CONTENT)


def _comparable(value: Any) -> Any:
    if _empty(value):
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _live(doc: RawDoc) -> list[RawDoc]:
    return [a for a in doc.get("addresses") or [] if a.get("deleted_at") is None]


@dataclass
class _Addresses:
    kept: list[RawDoc]  # the target's live addresses, then the moved ones (copies)
    collapsed: dict[str, str]  # address id → the id of the equal address kept
    outcomes: list[AddressOutcome]


def _union(target: RawDoc, sources: Sequence[RawDoc]) -> _Addresses:
    seen: dict[tuple[Any, ...], str] = {}
    result = _Addresses([], {}, [])
    for doc in (target, *sources):
        for address in _live(doc):
            key = _address_key(address)
            if doc is not target and key in seen:
                result.collapsed[address["id"]] = seen[key]
                result.outcomes.append(
                    AddressOutcome(
                        id=address["id"],
                        from_customer_id=doc["_id"],
                        outcome="collapsed",
                        collapsed_into=seen[key],
                    )
                )
                continue
            seen.setdefault(key, address["id"])
            result.kept.append(dict(address))
            outcome: Literal["kept", "moved"] = "kept" if doc is target else "moved"
            result.outcomes.append(
                AddressOutcome(id=address["id"], from_customer_id=doc["_id"], outcome=outcome)
            )
    return result


def _default(
    flag: str, union: _Addresses, ordered: list[RawDoc], target: RawDoc, keep: Mapping[str, Any]
) -> str | None:
    """The id of the address that gets ``flag``: ``keep``'s, the target's, or the best
    customer's (each through the collapse)."""
    chosen = keep.get(DEFAULT_KEYS[flag])
    if chosen is not None:
        theirs = {a["id"] for d in ordered for a in _live(d)}
        if chosen not in theirs:
            raise errors.merge_keep_address(DEFAULT_KEYS[flag])
        return union.collapsed.get(chosen, chosen)
    for doc in (target, *ordered):
        for address in _live(doc):
            if address.get(flag):
                return union.collapsed.get(address["id"], address["id"])
    return None


def _addresses(
    target: RawDoc,
    sources: Sequence[RawDoc],
    ordered: list[RawDoc],
    keep: Mapping[str, Any],
    now: datetime,
) -> tuple[list[RawDoc], _Addresses, dict[str, str | None]]:
    union = _union(target, sources)
    defaults = {flag: _default(flag, union, ordered, target, keep) for flag in DEFAULT_FLAGS}
    own = {a["id"] for a in _live(target)}
    for address in union.kept:
        changed = address["id"] not in own
        for flag, winner in defaults.items():
            wanted = address["id"] == winner
            changed = changed or bool(address.get(flag)) != wanted
            address[flag] = wanted
        if changed:
            address["customer_id"] = target["_id"]
            address["updated_at"] = now
    by_id = {a["id"]: a for a in union.kept}
    stored = [by_id.get(a["id"], a) for a in target.get("addresses") or []]
    stored += [a for a in union.kept if a["id"] not in own]
    if len(stored) > MAX_ADDRESSES:
        raise errors.merge_too_many_addresses(target["_id"], len(stored), MAX_ADDRESSES)
    return stored, union, defaults


def _memberships(
    target: RawDoc, sources: Sequence[RawDoc]
) -> tuple[list[RawDoc], set[str], list[MembershipOutcome]]:
    groups = [dict(m) for m in target.get("groups") or []]
    have = {m["customer_group_id"] for m in groups}
    outcomes = [
        MembershipOutcome(
            id=m["id"],
            customer_group_id=m["customer_group_id"],
            from_customer_id=target["_id"],
            outcome="kept",
        )
        for m in groups
    ]
    moved: set[str] = set()
    for doc in sources:
        for membership in doc.get("groups") or []:
            group_id = membership["customer_group_id"]
            outcome: Literal["moved", "already_member"] = (
                "already_member" if group_id in have else "moved"
            )
            if outcome == "moved":
                have.add(group_id)
                moved.add(membership["id"])
                groups.append(dict(membership))
            outcomes.append(
                MembershipOutcome(
                    id=membership["id"],
                    customer_group_id=group_id,
                    from_customer_id=doc["_id"],
                    outcome=outcome,
                )
            )
    return groups, moved, outcomes


def _source_changes(doc: RawDoc, target_id: str, moved: set[str], now: datetime) -> RawDoc:
    """A source soft-deleted into the target: the moved addresses and memberships leave it;
    what stays (collapsed addresses, memberships the target has) is deleted with it."""
    addresses = []
    for address in doc.get("addresses") or []:
        if address["id"] in moved:
            continue
        copy = dict(address)
        if copy.get("deleted_at") is None:
            copy["deleted_at"] = now
        addresses.append(copy)
    groups = [m for m in doc.get("groups") or [] if m["id"] not in moved]
    return {"deleted_at": now, "merged_into": target_id, "addresses": addresses, "groups": groups}


def _provenance(target: RawDoc, sources: Sequence[RawDoc], now: datetime, by: str | None) -> RawDoc:
    provenance = dict(target.get("provenance") or {})
    merged_from = list(provenance.get("merged_from") or [])
    merged_from += [{"id": doc["_id"], "at": now, "by": by} for doc in sources]
    provenance["merged_from"] = merged_from
    return provenance


def plan(
    target: RawDoc,
    sources: Sequence[RawDoc],
    keep: Mapping[str, Any] | None,
    *,
    now: datetime,
    by: str | None,
) -> Plan:
    """Work out the merge of the live ``sources`` into the live ``target`` (stored documents).

    ``keep``: the validated :class:`Keep` as a dict (unset keys absent or ``None``); ``by``:
    who merges (recorded in the target's ``provenance.merged_from``). Nothing is written.
    """
    keep = dict(keep or {})
    by_id = {d["_id"]: d for d in (target, *sources)}
    ordered = _order(target, sources)
    values, conflicts = _fields(ordered, keep, by_id)
    metadata, metadata_conflicts = _metadata(target, ordered, _keep_doc(keep, "metadata", by_id))
    addresses, union, defaults = _addresses(target, sources, ordered, keep, now)
    groups, moved_groups, memberships = _memberships(target, sources)
    moved = {o.id for o in union.outcomes if o.outcome == "moved"} | moved_groups
    changes: RawDoc = {
        **values,
        "metadata": metadata,
        "addresses": addresses,
        "groups": groups,
        "updated_at": now,
        "provenance": _provenance(target, sources, now, by),
    }
    changes["q_terms"] = q_terms(CUSTOMER, {**target, **changes})  # MongoDB's q reads them
    report = MergeReport(
        merged=[MergedSource(id=d["_id"], merged_into=target["_id"]) for d in sources],
        conflicts=conflicts,
        metadata_conflicts=metadata_conflicts,
        addresses=union.outcomes,
        memberships=memberships,
        default_shipping_address_id=defaults["is_default_shipping"],
        default_billing_address_id=defaults["is_default_billing"],
    )
    return Plan(
        target=changes,
        sources={d["_id"]: _source_changes(d, target["_id"], moved, now) for d in sources},
        report=report,
    )
