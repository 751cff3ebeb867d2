"""Merging customers into one: the reads, checks and writes around the rules of
:mod:`app.service.survivorship`.

A merge is one MongoDB transaction: every customer is read in it, the plan is worked out, the
sources are soft-deleted (``merged_into`` = the target) before the target is written (so a
guest and an account of one email merge without tripping the unique (email, has_account)
index), and the sources' identity links move to the target. Each document is written with a
compare-and-set on the ``version`` read in the transaction: of two merges over overlapping
customers, the second one's writes find another version (or a write conflict aborts it), and
it is retried from its reads, where it sees the first one's result and is refused (a source is
now deleted) or, when the same merge was retried, answers as done.

Idempotent: sources already merged into this target count as done; a merge whose sources are
all done writes nothing and answers ``already_merged``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from app import errors
from app.entities import CUSTOMER
from app.entities.values import utcnow
from app.service.etags import IfMatch, check_tag
from app.service.merge_models import MergedSource, MergeReport
from app.service.mongo import duplicate_key
from app.service.store import CAS_RETRIES, RawDoc, Store, backoff, check_document_size
from app.service.survivorship import plan

__all__ = ["MAX_MERGE_HOPS", "Merged", "link_guest", "merge", "preview", "resolve"]

MAX_MERGE_HOPS = 32  # merged_into links followed from a store token's customer


@dataclass
class Merged:
    """A merge's outcome: the target's document (as stored, or as it would be) and the report."""

    target: RawDoc
    report: MergeReport


class _Stale(errors.Conflict):
    """A customer changed between the merge's reads and its writes: read again."""


@dataclass
class _Request:
    target_id: str
    source_ids: list[str]
    keep: Mapping[str, Any] | None
    by: str | None
    if_match: IfMatch = None


def _check_ids(target_id: str, source_ids: Sequence[str]) -> list[str]:
    """The sources without repeats; refuses the target among them."""
    if target_id in source_ids:
        raise errors.merge_into_itself(target_id)
    return list(dict.fromkeys(source_ids))


async def _load(
    store: Store, request: _Request, session: AsyncClientSession | None
) -> tuple[RawDoc, list[RawDoc], list[str]]:
    """The live target, the live sources (in the order given) and the ids of the sources
    already merged into the target; refuses unknown and deleted customers."""
    ids = [request.target_id, *request.source_ids]
    found = await store.customers.find({"_id": {"$in": ids}}, session=session).to_list()
    by_id = {doc["_id"]: doc for doc in found}
    for customer_id in ids:
        if customer_id not in by_id:
            raise errors.entity_not_found("Customer", customer_id)
    target = by_id[request.target_id]
    if target.get("deleted_at") is not None:
        raise errors.merge_deleted(request.target_id)
    live, done = [], []
    for customer_id in request.source_ids:
        doc = by_id[customer_id]
        if doc.get("deleted_at") is None:
            live.append(doc)
        elif doc.get("merged_into") == request.target_id:
            done.append(customer_id)
        else:
            raise errors.merge_deleted(customer_id)
    return target, live, done


def _already_merged(target: RawDoc, done: list[str]) -> Merged:
    merged = [MergedSource(id=i, merged_into=target["_id"]) for i in done]
    return Merged(target, MergeReport(merged=merged, already_merged=True))


@dataclass
class _Work:
    """A merge worked out: its outcome, the customers as read, and each one's changes."""

    outcome: Merged
    target: RawDoc
    sources: list[RawDoc]
    changes: dict[str, RawDoc]


async def _work_out(store: Store, request: _Request, session: AsyncClientSession | None) -> _Work:
    """Read, plan and check the result (no changes when nothing is left to merge): the
    preview and the merge refuse the same merges."""
    target, sources, done = await _load(store, request, session)
    if not sources:
        return _Work(_already_merged(target, done), target, [], {})
    check_tag(CUSTOMER, target, request.if_match)
    worked = plan(target, sources, request.keep, now=utcnow(), by=request.by)
    report = worked.report
    report.merged = [
        *(MergedSource(id=i, merged_into=target["_id"]) for i in done),
        *report.merged,
    ]
    merged = {**target, **worked.target}
    check_document_size(merged, target)
    await _check_unique(store, merged, [target["_id"], *(s["_id"] for s in sources)], session)
    changes = {**worked.sources, target["_id"]: worked.target}
    return _Work(Merged(merged, report), target, sources, changes)


async def _check_unique(
    store: Store, merged: RawDoc, ids: list[str], session: AsyncClientSession | None
) -> None:
    """Refuse a result whose (email, has_account) another live customer has."""
    if merged.get("email") is None:
        return
    other = await store.customers.find_one(
        {
            "email": merged["email"],
            "has_account": bool(merged.get("has_account")),
            "deleted_at": None,
            "_id": {"$nin": ids},
        },
        {"_id": 1},
        session=session,
    )
    if other is not None:
        raise errors.merge_duplicate(merged["_id"], other["_id"])


async def _write(store: Store, doc: RawDoc, changes: RawDoc, session: AsyncClientSession) -> None:
    """One compare-and-set write of ``changes`` on ``doc`` as the merge read it."""
    version = doc.get("version", 0)
    try:
        result = await store.customers.update_one(
            {"_id": doc["_id"], "version": version},
            {"$set": {**changes, "version": version + 1}},
            session=session,
        )
    except PyMongoError as exc:
        key = duplicate_key(exc)
        if key is not None and "email" in key:
            raise errors.merge_duplicate(doc["_id"], "(another live customer)") from None
        raise
    if not result.matched_count:
        raise _Stale(f"Customer with id: {doc['_id']} changed during the merge")


async def _merge_in(store: Store, request: _Request, session: AsyncClientSession) -> Merged:
    """The whole merge inside the caller's transaction."""
    work = await _work_out(store, request, session)
    if not work.sources:
        return work.outcome
    target_id = work.target["_id"]
    source_ids = [s["_id"] for s in work.sources]
    for doc in (*work.sources, work.target):  # sources first: they free their unique keys
        await _write(store, doc, work.changes[doc["_id"]], session)
    await store.identity_links.update_many(
        {"customer_id": {"$in": source_ids}}, {"$set": {"customer_id": target_id}}, session=session
    )
    work.outcome.target["version"] = work.target.get("version", 0) + 1
    return work.outcome


async def preview(
    store: Store,
    target_id: str,
    source_ids: Sequence[str],
    keep: Mapping[str, Any] | None,
    *,
    by: str | None = None,
) -> Merged:
    """What :func:`merge` would do now, without writing anything."""
    request = _Request(target_id, _check_ids(target_id, source_ids), keep, by)
    return (await _work_out(store, request, None)).outcome


async def merge(
    store: Store,
    target_id: str,
    source_ids: Sequence[str],
    keep: Mapping[str, Any] | None,
    *,
    by: str | None = None,
    if_match: IfMatch = None,
) -> Merged:
    """Merge ``source_ids`` into ``target_id`` in one transaction, retried from its reads
    when a customer changed meanwhile; ``conflict`` when it keeps changing."""
    request = _Request(target_id, _check_ids(target_id, source_ids), keep, by, if_match)
    for attempt in range(CAS_RETRIES):
        try:
            return await store.transaction(lambda session: _merge_in(store, request, session))
        except _Stale:
            await backoff(attempt)
    raise errors.merge_conflict(target_id)


async def link_guest(
    store: Store, account: RawDoc, *, session: AsyncClientSession | None = None
) -> RawDoc:
    """Merge the live guest with the account's email into the new ``account`` (registration
    with ``CUSTOMERS_LINK_GUEST_ON_REGISTER``): inside the caller's transaction when given a
    ``session``, else in one of its own. Returns the account as it is afterwards."""
    if not account.get("email"):
        return account
    query = {"email": account["email"], "has_account": False, "deleted_at": None}
    # hinted: the embedded server's planner scans the whole collection for this condition
    guest = await store.customers.find_one(query, {"_id": 1}, session=session, hint="email")
    if guest is None:
        return account
    request = _Request(account["_id"], [guest["_id"]], None, "registration")
    if session is not None:
        try:
            return (await _merge_in(store, request, session)).target
        except _Stale as exc:  # the registration's transaction is retried whole
            raise errors.merge_conflict(account["_id"]) from exc
    return (await merge(store, account["_id"], [guest["_id"]], None, by="registration")).target


async def resolve(store: Store, customer_id: str) -> str:
    """The live customer ``customer_id`` was merged into, following ``merged_into`` (a store
    token naming a merged customer acts as the survivor); ``customer_id`` itself otherwise."""
    current = customer_id
    for _ in range(MAX_MERGE_HOPS):
        doc = await store.customers.find_one({"_id": current}, {"deleted_at": 1, "merged_into": 1})
        if doc is None or doc.get("deleted_at") is None or not doc.get("merged_into"):
            return current
        current = doc["merged_into"]
    return current
