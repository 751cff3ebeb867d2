"""One batch of import rows against MongoDB: look up, plan, write.

A batch costs a few round trips whatever its size: one read for the customers its rows match
(by id, one by email), one for the groups it names, and one bulk write of its creates and
updates in a transaction (one commit, as ``create_customers`` writes a batch). When a row of
it fails (a duplicate email, say), nothing was written and the batch is written again
unordered outside a transaction, where each row lands or fails on its own. A row's write is
one document (its addresses and memberships embedded), so a row either lands whole or not at
all; a row that loses a race (its stored version changed between the read and the write) is
planned again on the new version. A failed row never stops the others: it comes back as an
:class:`Outcome` with its failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import InsertOne, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from app.dataio.rows import Row
from app.erasure_records import erased_among
from app.errors import CustomerModuleError, duplicate_group_name, quote
from app.service import groups
from app.service.customers import translate_duplicate
from app.service.importing.checks import RowFailure, checked
from app.service.importing.plan import Action, Plan, Setting, match_key, plan_customer, plan_group
from app.service.inputs import CreateGroup
from app.service.mongo import duplicate_key
from app.service.store import CAS_RETRIES, RawDoc, Store

__all__ = ["Outcome", "import_customers_batch", "import_groups_batch"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one row: its action, or why it failed."""

    row: Row
    action: Action | None = None
    failure: RowFailure | None = None
    groups_created: int = 0


async def import_groups_batch(
    store: Store, rows: Sequence[Row], setting: Setting, *, dry_run: bool
) -> list[Outcome]:
    """JSONL group lines: each restored as written (one write per group; groups are few)."""
    out: list[Outcome] = []
    for row in rows:
        try:
            out.append(Outcome(row, await _group(store, row, setting, dry_run)))
        except RowFailure as failure:
            out.append(Outcome(row, failure=failure))
    return out


async def _group(store: Store, row: Row, setting: Setting, dry_run: bool) -> Action:
    if row.problem is not None:
        raise RowFailure(row.problem.field, row.problem.message)
    group_id = row.values.get("id")
    stored = await store.groups.find_one({"_id": group_id}) if isinstance(group_id, str) else None
    plan = plan_group(row, stored, setting)
    if dry_run:
        setting.dry_groups.add(plan.doc["_id"])
    if dry_run or plan.action is Action.UNCHANGED:
        return plan.action
    try:
        if plan.action is Action.CREATED:
            await store.groups.insert_one(plan.doc)
        else:
            done = await store.groups.replace_one(
                {"_id": plan.doc["_id"], "version": plan.version}, plan.doc
            )
            if not done.matched_count:
                raise RowFailure("id", "The group was changed while it was imported; try again")
    except PyMongoError as exc:
        key = duplicate_key(exc)
        if key is None:
            raise
        if "_id" in key:
            message = f"Customer group with id: {quote(key['_id'])}, already exists."
            raise RowFailure("id", f"Invalid request: {message}") from None
        raise RowFailure.of(duplicate_group_name(str(key.get("name"))), "name") from None
    return plan.action


async def import_customers_batch(
    store: Store, rows: Sequence[Row], setting: Setting, *, dry_run: bool
) -> list[Outcome]:
    """Customer rows (no two of them matching the same customer): planned and written."""
    names = {name for row in rows for name in row.group_names or ()}
    by_name, bad_names, created = await _groups_by_name(store, names, setting, dry_run)
    outcomes = await _customers(store, rows, setting, dry_run, by_name, bad_names)
    if created and outcomes:  # the groups a batch created, counted once, on its first row
        first = outcomes[0]
        outcomes[0] = Outcome(first.row, first.action, first.failure, groups_created=created)
    return outcomes


async def _customers(
    store: Store,
    rows: Sequence[Row],
    setting: Setting,
    dry_run: bool,
    by_name: Mapping[str, str],
    bad_names: Mapping[str, RowFailure],
    attempt: int = 0,
) -> list[Outcome]:
    stored = await _matches(store, rows)
    erased = await _erased(store, rows)
    known = await _known_groups(store, rows) | setting.dry_groups
    planned: list[tuple[Row, Plan]] = []
    outcomes: list[Outcome] = []
    for row in rows:
        try:
            group_ids = _group_ids(row, by_name, bad_names)
            key = match_key(row.values) if row.problem is None else None
            match = stored.get(key) if key is not None else None
            if row.problem is not None:
                raise RowFailure(row.problem.field, row.problem.message)
            if key is not None and key[1] in erased:
                raise RowFailure(
                    "id", f"Customer with id: {quote(key[1])} was erased; it is not imported again"
                )
            plan = plan_customer(row, match, setting, group_ids=group_ids, known_groups=known)
        except RowFailure as failure:
            outcomes.append(Outcome(row, failure=failure))
            continue
        if plan.action is Action.UNCHANGED or dry_run:
            outcomes.append(Outcome(row, plan.action))
        else:
            planned.append((row, plan))
    if planned:
        written, raced = await _write(store, planned)
        outcomes.extend(written)
        if raced and attempt < CAS_RETRIES:
            again = [row for row, _ in raced]
            outcomes.extend(
                await _customers(store, again, setting, dry_run, by_name, bad_names, attempt + 1)
            )
        elif raced:
            busy = RowFailure("", "The customer is being changed concurrently; try again")
            outcomes.extend(Outcome(row, failure=busy) for row, _ in raced)
    return outcomes


def _group_ids(
    row: Row, by_name: Mapping[str, str], bad_names: Mapping[str, RowFailure]
) -> list[str]:
    """The ids of the groups a row names (a bad name fails the row)."""
    for name in row.group_names or ():
        if name in bad_names:
            raise RowFailure("groups", bad_names[name].message)
    return [by_name[name] for name in row.group_names or ()]


async def _matches(store: Store, rows: Iterable[Row]) -> dict[tuple[str, Any], RawDoc]:
    """The stored customers the rows match, by their match key (two reads)."""
    keys = [match_key(row.values) for row in rows if row.problem is None]
    ids = sorted({k[1] for k in keys if k is not None and k[0] == "id"})
    emails = sorted({k[1][0] for k in keys if k is not None and k[0] == "email"})
    out: dict[tuple[str, Any], RawDoc] = {}
    if ids:
        for doc in await store.customers.find({"_id": {"$in": ids}}).to_list():
            out[("id", doc["_id"])] = doc
    if emails:
        live = {"email": {"$in": emails}, "deleted_at": None}
        for doc in await store.customers.find(live).to_list():
            out[("email", (doc["email"], bool(doc.get("has_account"))))] = doc
    return out


async def _erased(store: Store, rows: Iterable[Row]) -> set[str]:
    """The ids rows name of customers that were erased: a backup must not bring them back
    (the search index would not hold them either)."""
    keys = (match_key(row.values) for row in rows if row.problem is None)
    return await erased_among(
        store.database, (k[1] for k in keys if k is not None and k[0] == "id")
    )


async def _known_groups(store: Store, rows: Iterable[Row]) -> set[str]:
    """The ids (of groups in any state) the rows' stored memberships name that exist."""
    wanted = sorted(
        {
            m["customer_group_id"]
            for row in rows
            for m in row.memberships or ()
            if isinstance(m, dict) and isinstance(m.get("customer_group_id"), str)
        }
    )
    if not wanted:
        return set()
    found = await store.groups.find({"_id": {"$in": wanted}}, {"_id": 1}).to_list()
    return {doc["_id"] for doc in found}


async def _groups_by_name(
    store: Store, names: set[str], setting: Setting, dry_run: bool
) -> tuple[dict[str, str], dict[str, RowFailure], int]:
    """Live groups by name, the missing ones created (not in a dry run); names the service
    refuses are failures of the rows naming them."""
    bad: dict[str, RowFailure] = {}
    valid = []
    for name in sorted(names):
        try:
            checked(CreateGroup, {"name": name})
            valid.append(name)
        except RowFailure as failure:
            bad[name] = failure
    by_name = await _live_groups(store, valid)
    created = 0
    for name in (n for n in valid if n not in by_name):
        if dry_run:
            by_name[name] = f"(new group {name})"
            continue
        try:
            item = CreateGroup(name=name, created_by=setting.actor)
            doc = (await groups.create(store, [item]))[0]
            by_name[name] = doc["_id"]
            created += 1
        except CustomerModuleError as exc:  # created meanwhile by someone else
            found = await _live_groups(store, [name])
            if name not in found:
                bad[name] = RowFailure.of(exc, "groups")
            by_name.update(found)
    return by_name, bad, created


async def _live_groups(store: Store, names: Sequence[str]) -> dict[str, str]:
    if not names:
        return {}
    cursor = store.groups.find({"name": {"$in": list(names)}, "deleted_at": None}, {"name": 1})
    return {doc["name"]: doc["_id"] for doc in await cursor.to_list()}


async def _write(
    store: Store, planned: Sequence[tuple[Row, Plan]]
) -> tuple[list[Outcome], list[tuple[Row, Plan]]]:
    """One unordered bulk write; the outcomes of the rows written or failed, and the updates
    that lost a race (their stored version changed since it was read)."""
    ops: list[Any] = [
        InsertOne(plan.doc)
        if plan.action is Action.CREATED
        else ReplaceOne({"_id": plan.doc["_id"], "version": plan.version}, plan.doc)
        for _, plan in planned
    ]
    failed: dict[int, RowFailure] = {}
    try:
        matched = await _write_all(store, ops)
    except BulkWriteError:  # some row failed, so nothing was written: each row on its own
        matched, failed = await _write_each(store, ops)
    updates = [i for i, (_, p) in enumerate(planned) if p.action is Action.UPDATED]
    raced = await _raced(store, planned, updates, failed) if matched < len(updates) else set()
    outcomes = [
        Outcome(row, failure=failed[i]) if i in failed else Outcome(row, plan.action)
        for i, (row, plan) in enumerate(planned)
        if i not in raced
    ]
    return outcomes, [planned[i] for i in sorted(raced)]


async def _write_all(store: Store, ops: list[Any]) -> int:
    """The batch in one transaction: one commit (as ``create_customers`` writes a batch),
    all or nothing; the number of updates that matched their version."""

    async def write(session: AsyncClientSession) -> int:
        result = await store.customers.bulk_write(ops, ordered=True, session=session)
        return result.matched_count

    return await store.transaction(write)


async def _write_each(store: Store, ops: list[Any]) -> tuple[int, dict[int, RowFailure]]:
    """The batch unordered, outside a transaction: each row lands or fails on its own."""
    try:
        result = await store.customers.bulk_write(ops, ordered=False)
        return result.matched_count, {}
    except BulkWriteError as exc:
        failed = {e["index"]: _failure(e) for e in exc.details.get("writeErrors", [])}
        return exc.details.get("nMatched", 0), failed


async def _raced(
    store: Store,
    planned: Sequence[tuple[Row, Plan]],
    updates: Sequence[int],
    failed: Mapping[int, RowFailure],
) -> set[int]:
    """The updates that did not land: their stored version is not the one they wrote."""
    todo = [i for i in updates if i not in failed]
    ids = [planned[i][1].doc["_id"] for i in todo]
    found = await store.customers.find({"_id": {"$in": ids}}, {"version": 1}).to_list()
    versions = {doc["_id"]: doc.get("version") for doc in found}
    return {
        i for i, doc_id in zip(todo, ids, strict=True) if versions.get(doc_id) != _wrote(planned[i])
    }


def _wrote(item: tuple[Row, Plan]) -> Any:
    """The version an update wrote."""
    return item[1].doc["version"]


def _failure(error: Mapping[str, Any]) -> RowFailure:
    """A write error of the bulk write as a row failure, in the API's words."""
    if error.get("code") == 11000:
        translated = translate_duplicate(DuplicateKeyError(error.get("errmsg", ""), 11000, error))
        if translated is not None:
            field = "id" if "_id" in (error.get("keyValue") or {}) else "email"
            return RowFailure.of(translated, field)
    return RowFailure("", f"The customer could not be written (error {error.get('code')})")
