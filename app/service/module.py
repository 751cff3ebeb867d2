"""``CustomerModuleService``: Medusa's ICustomerModuleService, in Python, on MongoDB.

Method names are Medusa's in snake_case; they live in one module per entity
(:mod:`app.service.methods`) and this class joins them. One object in → one object out, a list
in → a list out. ``update_*`` take an id, a list of ids or a filter selector. Errors are
``app.errors.CustomerModuleError`` with Medusa's types and messages.

Searches (customer lists, whether the index or MongoDB answers them, the ranked lookup, and
address or group lists with ``q``) go through the service's :class:`~app.service.admission.
SearchGate`: admission control and a time budget; what MongoDB answers instead of the attached
index (a scan of the customers) also takes one of its few scan slots, and is refused above
``scan_limit`` customers (the embedded server blocks every other operation while it scans).
Other lists only get the budget (their MongoDB calls run under ``maxTimeMS``). Input is
validated before admission, so bad input is always ``invalid_data``, never a 503.
"""

from __future__ import annotations

from typing import Any

from beanie import init_beanie
from pymongo import AsyncMongoClient

from app.db import new_client
from app.errors import InvalidData
from app.models import MODELS
from app.service.admission import SECANTUSDB_SCAN_LIMIT, SearchGate
from app.service.methods.addresses import AddressMethods
from app.service.methods.base import CustomerIndex
from app.service.methods.customers import CustomerMethods
from app.service.methods.duplicates import DuplicateMethods
from app.service.methods.groups import GroupMethods
from app.service.store import Store

__all__ = ["CustomerIndex", "CustomerModuleService"]


class CustomerModuleService(DuplicateMethods, CustomerMethods, AddressMethods, GroupMethods):
    """The customer module: customers, their addresses, groups and memberships."""

    @classmethod
    async def connect(
        cls,
        mongodb_uri: str | None = None,
        database: str = "customers",
        *,
        client: AsyncMongoClient[Any] | None = None,
        search_concurrency: int = 4,
        search_budget: float = 2.0,
        scan_limit: int | None = None,
        index: CustomerIndex | None = None,
    ) -> CustomerModuleService:
        """Connect to MongoDB, create the indexes (idempotent) and return a service.

        Pass ``client`` to share an existing ``AsyncMongoClient`` (it is then not closed by
        :meth:`close`). The client must belong to the running event loop. Searches run at most
        ``search_concurrency`` at once, each within ``search_budget`` seconds. A search the
        attached index cannot answer is refused rather than scanned on MongoDB when the index
        holds more than ``scan_limit`` customers (default: none, or
        :data:`~app.service.admission.SECANTUSDB_SCAN_LIMIT` on SecantusDB, which blocks
        every other operation while it scans). ``index`` serves customer lists and ranked
        lookups (the search index's reader); without one MongoDB answers them.
        """
        owns = client is None
        if client is None:
            if mongodb_uri is None:
                raise InvalidData("A MongoDB URI (or a client) is required")
            client = new_client(mongodb_uri)  # with the fail-fast timeouts of app.db
        db = client[database]
        try:
            await init_beanie(database=db, document_models=MODELS)
        except BaseException:
            if owns:  # e.g. MongoDB unreachable: no client left behind with its monitor tasks
                await client.close()
            raise
        gate = SearchGate(concurrency=search_concurrency, budget=search_budget)
        if scan_limit is None and "secantusVersion" in await client.admin.command("buildInfo"):
            scan_limit = SECANTUSDB_SCAN_LIMIT
        store = Store(client=client, database=db)
        return cls(store, owns_client=owns, gate=gate, scan_limit=scan_limit, index=index)

    async def close(self) -> None:
        """Close the MongoDB client if this service opened it."""
        if self._owns_client:
            await self._store.client.close()
