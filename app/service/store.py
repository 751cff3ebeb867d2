"""The service's handle on MongoDB: its own collections, transactions and error translation.

Beanie binds document classes process-wide (``init_beanie``); the service runs ``init_beanie``
to create the indexes of ``app.models`` and then keeps its *own* collection handles, so two
services on two databases in one process (tests, tools) never read each other's data.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import bson
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError

from app.erasure_records import DEAD_LETTERS_COLLECTION, ERASURES_COLLECTION
from app.errors import Conflict, InvalidData, quote
from app.limits import MAX_CUSTOMER_BYTES

__all__ = ["CAS_RETRIES", "IDS_PER_READ", "Store", "backoff", "check_document_size", "find_by_ids"]

T = TypeVar("T")
RawDoc = dict[str, Any]

CAS_RETRIES = 64  # compare-and-set attempts before giving up with a conflict error
TXN_RETRIES = 8  # whole-transaction attempts on TransientTransactionError
IDS_PER_READ = 50
"""Ids per ``$in`` read: the embedded server's cost grows with the square of an ``$in``'s
length (1,000 customers by id at 100,000: 1.73 s in one read, 0.26 s in reads of 50)."""


def check_document_size(doc: RawDoc, before: RawDoc | None = None) -> None:
    """Refuse a write whose document would grow past ``MAX_CUSTOMER_BYTES``, as ``invalid_data``.

    ``before`` is the stored document an update changes: one stored larger before the limit
    may still be written as long as it does not grow.

    The input limits keep each value small, but 200 addresses of 1,000-character fields and
    64 KiB of metadata each can still pass MongoDB's 16 MiB, and a compare-and-set update sends
    the whole changed array again (in the command, and in the oplog entry the change stream
    reads): the embedded server already fails such a write at 14.6 MB. Without this check the
    client would get a driver error as a 500 instead of a 400 it can act on.
    """
    size = len(bson.encode(doc))
    if size > MAX_CUSTOMER_BYTES and (before is None or size > len(bson.encode(before))):
        raise InvalidData(
            f"Invalid request: Customer {quote(doc.get('_id'))} would take {size} bytes of "
            f"storage, more than the {MAX_CUSTOMER_BYTES} a customer may take"
        )


async def find_by_ids(
    collection: AsyncCollection[RawDoc],
    ids: list[str],
    projection: dict[str, Any] | None = None,
    *,
    where: Mapping[str, Any] | None = None,
    session: AsyncClientSession | None = None,
) -> list[RawDoc]:
    r"""The documents with these ``_id``\ s (and matching ``where``), read :data:`IDS_PER_READ`
    ids at a time, in no particular order."""
    found: list[RawDoc] = []
    for start in range(0, len(ids), IDS_PER_READ):
        query = {"_id": {"$in": ids[start : start + IDS_PER_READ]}, **(where or {})}
        found += await collection.find(query, projection, session=session).to_list()
    return found


async def backoff(attempt: int) -> None:
    """Sleep a short, jittered, growing time before retrying a lost compare-and-set race."""
    await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))


@dataclass
class Store:
    """The collections the service works on."""

    client: AsyncMongoClient[RawDoc]
    database: AsyncDatabase[RawDoc]

    @property
    def customers(self) -> AsyncCollection[RawDoc]:
        return self.database["customers"]

    @property
    def groups(self) -> AsyncCollection[RawDoc]:
        return self.database["customer_groups"]

    @property
    def identity_links(self) -> AsyncCollection[RawDoc]:
        return self.database["identity_links"]

    @property
    def erasures(self) -> AsyncCollection[RawDoc]:
        """Erasure receipts (also the indexer's tombstones: :mod:`app.erasure_records`)."""
        return self.database[ERASURES_COLLECTION]

    @property
    def dead_letters(self) -> AsyncCollection[RawDoc]:
        """The documents the search indexer could not index (an erasure removes its own)."""
        return self.database[DEAD_LETTERS_COLLECTION]

    async def insert_all(self, collection: AsyncCollection[RawDoc], docs: list[RawDoc]) -> None:
        """Insert ``docs``: one plain insert, or several in one transaction (all or nothing)."""
        if len(docs) == 1:
            await collection.insert_one(docs[0])
        elif docs:

            async def insert(session: AsyncClientSession) -> None:
                await collection.insert_many(docs, ordered=True, session=session)

            await self.transaction(insert)

    async def transaction(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Run ``work(session)`` in a multi-document transaction, retrying transient aborts.

        Used where one call writes several documents (batch creates, group deletes), so a
        failure midway leaves nothing half-done.
        """
        for attempt in range(TXN_RETRIES):
            async with self.client.start_session() as session:
                try:
                    async with await session.start_transaction():
                        return await work(session)
                except PyMongoError as exc:
                    transient = isinstance(exc, OperationFailure) and exc.has_error_label(
                        "TransientTransactionError"
                    )
                    if not transient or attempt == TXN_RETRIES - 1:
                        raise
            await backoff(attempt)
        raise Conflict("The operation conflicted with concurrent writes; try again.")
