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
from app.service.admission import SECANTUSDB_PAGE_LIMIT, SECANTUSDB_SCAN_LIMIT, SearchGate
from app.service.methods.addresses import AddressMethods
from app.service.methods.base import CustomerIndex
from app.service.methods.customers import CustomerMethods
from app.service.methods.duplicates import DuplicateMethods
from app.service.methods.exports import ExportMethods
from app.service.methods.groups import GroupMethods
from app.service.methods.imports import ImportMethods
from app.service.methods.merging import MergeMethods
from app.service.methods.privacy import PrivacyMethods
from app.service.migrations import add_q_terms
from app.service.store import Store

__all__ = ["CustomerIndex", "CustomerModuleService"]


class CustomerModuleService(
    DuplicateMethods,
    CustomerMethods,
    AddressMethods,
    GroupMethods,
    MergeMethods,
    PrivacyMethods,
    ExportMethods,
    ImportMethods,
):
    """The customer module: customers, their addresses, groups and memberships; merging
    customers and finding duplicates; one customer's data export and erasure; exports and
    imports of many customers."""

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
        page_limit: int | None = None,
        index: CustomerIndex | None = None,
        link_guest_on_register: bool = False,
    ) -> CustomerModuleService:
        """Connect to MongoDB, create the indexes and run the migrations (both idempotent;
        see :mod:`app.service.migrations`) and return a service.

        Pass ``client`` to share an existing ``AsyncMongoClient`` (it is then not closed by
        :meth:`close`). The client must belong to the running event loop. Searches run at most
        ``search_concurrency`` at once, each within ``search_budget`` seconds. A search the
        attached index cannot answer is refused rather than scanned on MongoDB when the index
        holds more than ``scan_limit`` customers (default: none, or
        :data:`~app.service.admission.SECANTUSDB_SCAN_LIMIT` on SecantusDB, which blocks
        every other operation while it scans); a plain or group page MongoDB reads along an
        index instead is refused above ``page_limit`` customers (default: none, or
        :data:`~app.service.admission.SECANTUSDB_PAGE_LIMIT`). ``index`` serves customer
        lists and ranked lookups (the search index's reader); without one MongoDB answers
        them.
        ``link_guest_on_register``: creating an account merges the live guest with its email
        into it (``CUSTOMERS_LINK_GUEST_ON_REGISTER``).
        """
        owns = client is None
        if client is None:
            if mongodb_uri is None:
                raise InvalidData("A MongoDB URI (or a client) is required")
            client = new_client(mongodb_uri)  # with the fail-fast timeouts of app.db
        db = client[database]
        store = Store(client=client, database=db)
        try:
            await init_beanie(database=db, document_models=MODELS)
            await add_q_terms(store)
        except BaseException:
            if owns:  # e.g. MongoDB unreachable: no client left behind with its monitor tasks
                await client.close()
            raise
        gate = SearchGate(concurrency=search_concurrency, budget=search_budget)
        if "secantusVersion" in await client.admin.command("buildInfo"):
            scan_limit = SECANTUSDB_SCAN_LIMIT if scan_limit is None else scan_limit
            page_limit = SECANTUSDB_PAGE_LIMIT if page_limit is None else page_limit
        return cls(
            store,
            owns_client=owns,
            gate=gate,
            scan_limit=scan_limit,
            page_limit=page_limit,
            index=index,
            link_guest_on_register=link_guest_on_register,
        )

    async def close(self) -> None:
        """Close the MongoDB client if this service opened it."""
        if self._owns_client:
            await self._store.client.close()
