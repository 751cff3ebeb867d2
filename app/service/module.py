"""``CustomerModuleService``: Medusa's ICustomerModuleService, in Python, on MongoDB.

Method names are Medusa's in snake_case. One object in → one object out, a list in → a list
out. ``update_*`` take an id, a list of ids or a filter selector. Errors are
``app.errors.CustomerModuleError`` with Medusa's types and messages.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from beanie import init_beanie
from pymongo import AsyncMongoClient

from app.db import new_client
from app.dto import (
    CustomerAddressDTO,
    CustomerDTO,
    CustomerGroupCustomerDTO,
    CustomerGroupDTO,
    CustomerSearchHit,
    CustomerSearchResult,
)
from app.errors import InvalidData
from app.models import MODELS
from app.service import addresses, customers, groups, queries
from app.service.common import all_of, id_list, is_selector, live, one_or_many
from app.service.filters import CUSTOMER, GROUP, compile_filters
from app.service.findconfig import FindConfig, parse_config
from app.service.inputs import (
    CreateAddress,
    CreateCustomer,
    CreateGroup,
    GroupPair,
    UpdateAddress,
    UpdateCustomer,
    UpdateGroup,
)
from app.service.serialize import (
    ADDRESS_FIELDS,
    CUSTOMER_FIELDS,
    GROUP_FIELDS,
    MEMBERSHIP_FIELDS,
    address_dto,
    customer_dto,
    group_dto,
    membership_dto,
)
from app.service.store import Store
from app.validation import check_storable, validate

__all__ = ["CustomerIndex", "CustomerModuleService"]

Filters = Mapping[str, Any] | None
Config = Mapping[str, Any] | None


def _sortable(fields: Sequence[str]) -> tuple[str, ...]:
    return tuple(f for f in fields if f != "metadata")


_CUSTOMER_CONFIG = {"sortable": _sortable(CUSTOMER_FIELDS), "relations": ("addresses", "groups")}
_GROUP_CONFIG = {"sortable": _sortable(GROUP_FIELDS), "relations": ("customers",)}
_ADDRESS_CONFIG = {"sortable": _sortable(ADDRESS_FIELDS), "relations": ("customer",)}
_MEMBERSHIP_CONFIG = {
    "sortable": _sortable(MEMBERSHIP_FIELDS),
    "relations": ("customer", "customer_group"),
}


async def _no_relations(relation: str, value: Any) -> list[str]:
    """A resolver for validation only: relation filters are checked, not looked up."""
    return []


class CustomerIndex(Protocol):
    """The search index's read side, as the service uses it (see ``indexers.reader``)."""

    async def list_customer_ids(
        self,
        filters: Mapping[str, Any],
        *,
        skip: int,
        take: int | None,
        order: Sequence[tuple[str, int]],
        with_deleted: bool,
    ) -> tuple[list[str], int] | None:
        """A page of ids and the total, or ``None`` when the index cannot serve ``filters``."""
        ...

    async def search_customers(
        self, q: str, filters: Mapping[str, Any], limit: int, *, with_deleted: bool
    ) -> tuple[list[Any], int] | None:
        """Ranked hits (``id``, ``score``, ``highlights``) and the match count, or ``None``."""
        ...


class CustomerModuleService:
    """The customer module: customers, their addresses, groups and memberships."""

    def __init__(self, store: Store, *, owns_client: bool = False) -> None:
        self._store = store
        self._owns_client = owns_client
        self.index: CustomerIndex | None = None

    # --- lifecycle -------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        mongodb_uri: str | None = None,
        database: str = "customers",
        *,
        client: AsyncMongoClient[Any] | None = None,
    ) -> CustomerModuleService:
        """Connect to MongoDB, create the indexes (idempotent) and return a service.

        Pass ``client`` to share an existing ``AsyncMongoClient`` (it is then not closed by
        :meth:`close`). The client must belong to the running event loop.
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
        return cls(Store(client=client, database=db), owns_client=owns)

    async def close(self) -> None:
        """Close the MongoDB client if this service opened it."""
        if self._owns_client:
            await self._store.client.close()

    @property
    def store(self) -> Store:
        """The service's collections (for the indexer, tools and tests)."""
        return self._store

    @property
    def database(self) -> Any:
        """The PyMongo ``AsyncDatabase`` the service works on."""
        return self._store.database

    # --- customers -------------------------------------------------------------------------

    async def retrieve_customer(self, customer_id: str, config: Config = None) -> CustomerDTO:
        """One customer; ``not_found`` when missing or soft-deleted."""
        cfg = parse_config(config, **_CUSTOMER_CONFIG)
        return await queries.retrieve_customer(self._store, customer_id, cfg)

    async def list_customers(
        self, filters: Filters = None, config: Config = None
    ) -> list[CustomerDTO]:
        """Customers matching ``filters`` (default order: id ascending)."""
        items, _ = await self._list_customers(filters, config, count=False)
        return items

    async def list_and_count_customers(
        self, filters: Filters = None, config: Config = None
    ) -> tuple[list[CustomerDTO], int]:
        """A page of customers and the total number matching ``filters``."""
        items, total = await self._list_customers(filters, config, count=True)
        return items, total or 0

    async def _list_customers(
        self, filters: Filters, config: Config, *, count: bool
    ) -> tuple[list[CustomerDTO], int | None]:
        cfg = parse_config(config, **_CUSTOMER_CONFIG)
        # The index resolves group filters to live groups only; MongoDB answers the rest.
        if self.index is not None and not (cfg.with_deleted and "groups" in (filters or {})):
            served = await self._list_from_index(filters, cfg)
            if served is not None:
                ids, total = served
                return await queries.load_customers(self._store, ids, cfg), total
        return await queries.list_customers(self._store, filters, cfg, count=count)

    async def _list_from_index(
        self, filters: Filters, cfg: FindConfig
    ) -> tuple[list[str], int] | None:
        """Ask the search index for the page; ``None`` falls back to MongoDB."""
        assert self.index is not None
        # Validate exactly as the MongoDB path would, so bad input is invalid_data either way
        # (relations are resolved by the index reader itself).
        await compile_filters(filters, CUSTOMER, _no_relations)
        return await self.index.list_customer_ids(
            dict(filters or {}),
            skip=cfg.skip,
            take=cfg.take,
            order=cfg.sort,
            with_deleted=cfg.with_deleted,
        )

    async def search_customers(
        self, q: str, filters: Filters = None, config: Config = None
    ) -> CustomerSearchResult:
        """Ranked admin lookup: typo-tolerant, as-you-type, names in either order, phones by
        any formatting or their last digits; best first, with highlights.

        ``config``: ``take`` (default 20), ``relations``, ``select``, ``with_deleted``. Served by
        the search index; without one (or when it is unavailable) MongoDB answers the same
        words with the literal ``q`` rule, unranked (``score`` None).
        """
        started = time.perf_counter()
        if not isinstance(q, str):
            raise InvalidData("Invalid request: Expected type: 'string' for field 'q'")
        check_storable(q, "q")
        cfg = parse_config(config, **_CUSTOMER_CONFIG)
        limit = 20 if cfg.take is None else cfg.take
        await compile_filters(filters, CUSTOMER, _no_relations)
        served = None
        if self.index is not None and q.strip():
            served = await self.index.search_customers(
                q, dict(filters or {}), limit, with_deleted=cfg.with_deleted
            )
        if served is not None:
            found, total = served
            customers = await queries.load_customers(self._store, [h.id for h in found], cfg)
            by_id = {c.id: c for c in customers}
            hits = [
                CustomerSearchHit(customer=by_id[h.id], score=h.score, highlights=h.highlights)
                for h in found
                if h.id in by_id
            ]
        else:
            page_cfg = FindConfig(**{**cfg.__dict__, "take": limit, "skip": 0})
            customers, total = await queries.list_customers(
                self._store, {**(filters or {}), "q": q}, page_cfg, count=True
            )
            hits = [CustomerSearchHit(customer=c) for c in customers]
        took = round((time.perf_counter() - started) * 1000, 3)
        return CustomerSearchResult(hits=hits, count=total or 0, took_ms=took)

    async def create_customers(self, data: Any) -> Any:
        """Create one customer or a list (with nested ``addresses``); a batch is atomic."""
        items, single = one_or_many(data)
        docs = await customers.create(self._store, [validate(CreateCustomer, d) for d in items])
        out = [
            customer_dto(doc, addresses=[address_dto(a) for a in doc["addresses"]]) for doc in docs
        ]
        return out[0] if single else out

    async def update_customers(self, selector: Any, data: Any) -> Any:
        """Update by id (→ one), ids or a filter selector (→ list); metadata is merged."""
        update = validate(UpdateCustomer, data)
        ids = await self._customer_ids(selector)
        if not ids:
            return []
        docs = await customers.update(self._store, ids, update)
        out = [customer_dto(doc) for doc in docs]
        return out[0] if isinstance(selector, str) else out

    async def _customer_ids(self, selector: Any, *, with_deleted: bool = False) -> list[str]:
        if is_selector(selector):
            query = await compile_filters(
                selector, CUSTOMER, queries.make_resolver(self._store, with_deleted)
            )
            return await customers.find_ids(self._store, query, with_deleted=with_deleted)
        return id_list(selector)

    async def delete_customers(self, selector: Any) -> None:
        """Hard-delete customers (with their addresses and memberships)."""
        await customers.hard_delete(
            self._store, await self._customer_ids(selector, with_deleted=True)
        )

    async def soft_delete_customers(self, ids: Any, config: Config = None) -> None:
        """Soft-delete customers and their addresses."""
        await customers.soft_delete(self._store, id_list(ids))

    async def restore_customers(self, ids: Any, config: Config = None) -> None:
        """Restore soft-deleted customers and the addresses deleted with them."""
        await customers.restore(self._store, id_list(ids))

    # --- addresses -------------------------------------------------------------------------

    async def create_customer_addresses(self, data: Any) -> Any:
        """Create addresses; a new default clears the customer's previous one."""
        items, single = one_or_many(data)
        docs = await addresses.create(self._store, [validate(CreateAddress, d) for d in items])
        out = [address_dto(doc) for doc in docs]
        return out[0] if single else out

    async def retrieve_customer_address(
        self, address_id: str, config: Config = None
    ) -> CustomerAddressDTO:
        """One address; ``not_found`` when missing or soft-deleted."""
        cfg = parse_config(config, **_ADDRESS_CONFIG)
        return await queries.retrieve_address(self._store, address_id, cfg)

    async def list_customer_addresses(
        self, filters: Filters = None, config: Config = None
    ) -> list[CustomerAddressDTO]:
        """Addresses matching ``filters``."""
        cfg = parse_config(config, **_ADDRESS_CONFIG)
        items, _ = await queries.list_addresses(self._store, filters, cfg, count=False)
        return items

    async def list_and_count_customer_addresses(
        self, filters: Filters = None, config: Config = None
    ) -> tuple[list[CustomerAddressDTO], int]:
        """A page of addresses and the total number matching ``filters``."""
        cfg = parse_config(config, **_ADDRESS_CONFIG)
        items, total = await queries.list_addresses(self._store, filters, cfg, count=True)
        return items, total or 0

    async def update_customer_addresses(self, selector: Any, data: Any) -> Any:
        """Update addresses by id (→ one), ids or selector (→ list)."""
        update = validate(UpdateAddress, data)
        target = selector if is_selector(selector) else id_list(selector)
        pairs = await addresses.resolve(self._store, target)
        if not pairs:
            return []
        docs = await addresses.update(self._store, pairs, update)
        out = [address_dto(doc) for doc in docs]
        return out[0] if isinstance(selector, str) else out

    async def _address_ids(self, selector: Any) -> list[str]:
        if is_selector(selector):
            pairs = await addresses.resolve(self._store, selector, with_deleted=True)
            return [address_id for _, address_id in pairs]
        return id_list(selector)

    async def delete_customer_addresses(self, selector: Any) -> None:
        """Hard-delete addresses."""
        await addresses.hard_delete(self._store, await self._address_ids(selector))

    async def soft_delete_customer_addresses(self, ids: Any, config: Config = None) -> None:
        """Soft-delete addresses."""
        await addresses.soft_delete(self._store, id_list(ids))

    async def restore_customer_addresses(self, ids: Any, config: Config = None) -> None:
        """Restore soft-deleted addresses."""
        await addresses.restore(self._store, id_list(ids))

    # --- groups ----------------------------------------------------------------------------

    async def create_customer_groups(self, data: Any) -> Any:
        """Create one group or a list; names are unique among live groups."""
        items, single = one_or_many(data)
        docs = await groups.create(self._store, [validate(CreateGroup, d) for d in items])
        out = [group_dto(doc) for doc in docs]
        return out[0] if single else out

    async def retrieve_customer_group(
        self, group_id: str, config: Config = None
    ) -> CustomerGroupDTO:
        """One group; ``not_found`` when missing or soft-deleted."""
        cfg = parse_config(config, **_GROUP_CONFIG)
        return await queries.retrieve_group(self._store, group_id, cfg)

    async def list_customer_groups(
        self, filters: Filters = None, config: Config = None
    ) -> list[CustomerGroupDTO]:
        """Groups matching ``filters``."""
        cfg = parse_config(config, **_GROUP_CONFIG)
        items, _ = await queries.list_groups(self._store, filters, cfg, count=False)
        return items

    async def list_and_count_customer_groups(
        self, filters: Filters = None, config: Config = None
    ) -> tuple[list[CustomerGroupDTO], int]:
        """A page of groups and the total number matching ``filters``."""
        cfg = parse_config(config, **_GROUP_CONFIG)
        items, total = await queries.list_groups(self._store, filters, cfg, count=True)
        return items, total or 0

    async def _group_ids(self, selector: Any, *, with_deleted: bool = False) -> list[str]:
        if is_selector(selector):
            resolve = queries.make_resolver(self._store, with_deleted)
            query = await compile_filters(selector, GROUP, resolve)
            cond = all_of(query, live(with_deleted))
            docs = await self._store.groups.find(cond, {"_id": 1}).sort("_id", 1).to_list()
            return [doc["_id"] for doc in docs]
        return id_list(selector)

    async def update_customer_groups(self, selector: Any, data: Any) -> Any:
        """Update groups by id (→ one), ids or selector (→ list); metadata is merged."""
        update = validate(UpdateGroup, data)
        ids = await self._group_ids(selector)
        if not ids:
            return []
        docs = await groups.update(self._store, ids, update)
        out = [group_dto(doc) for doc in docs]
        return out[0] if isinstance(selector, str) else out

    async def delete_customer_groups(self, selector: Any) -> None:
        """Hard-delete groups and their memberships (one transaction)."""
        await groups.hard_delete(self._store, await self._group_ids(selector, with_deleted=True))

    async def soft_delete_customer_groups(self, ids: Any, config: Config = None) -> None:
        """Soft-delete groups; members stop listing them until a restore."""
        await groups.soft_delete(self._store, id_list(ids))

    async def restore_customer_groups(self, ids: Any, config: Config = None) -> None:
        """Restore soft-deleted groups."""
        await groups.restore(self._store, id_list(ids))

    # --- memberships -----------------------------------------------------------------------

    async def add_customer_to_group(self, data: Any) -> Any:
        """Add memberships; an existing membership is returned, never duplicated."""
        items, single = one_or_many(data)
        pairs = [validate(GroupPair, d) for d in items]
        out = [membership_dto(m) for m in await groups.add_members(self._store, pairs)]
        return out[0] if single else out

    async def remove_customer_from_group(self, data: Any) -> None:
        """Remove memberships; pairs that are not members are ignored."""
        items, _ = one_or_many(data)
        await groups.remove_members(self._store, [validate(GroupPair, d) for d in items])

    async def list_customer_group_customers(
        self, filters: Filters = None, config: Config = None
    ) -> list[CustomerGroupCustomerDTO]:
        """Memberships matching ``filters`` (``customer_id``, ``customer_group_id`` …)."""
        cfg = parse_config(config, **_MEMBERSHIP_CONFIG)
        items, _ = await queries.list_memberships(self._store, filters, cfg, count=False)
        return items

    async def list_and_count_customer_group_customers(
        self, filters: Filters = None, config: Config = None
    ) -> tuple[list[CustomerGroupCustomerDTO], int]:
        """A page of memberships and the total number matching ``filters``."""
        cfg = parse_config(config, **_MEMBERSHIP_CONFIG)
        items, total = await queries.list_memberships(self._store, filters, cfg, count=True)
        return items, total or 0
