"""``CustomerModuleService``: Medusa's ICustomerModuleService, in Python, on MongoDB.

Method names are Medusa's in snake_case. One object in → one object out, a list in → a list
out. ``update_*`` take an id, a list of ids or a filter selector. Errors are
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

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

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
from app.errors import InvalidData, Unavailable, email_required
from app.limits import MAX_ID_CHARS
from app.models import MODELS
from app.service import addresses, customers, groups, queries
from app.service.admission import SECANTUSDB_SCAN_LIMIT, SearchGate
from app.service.common import all_of, id_list, is_selector, live, one_or_many
from app.service.filters import ADDRESS, CUSTOMER, GROUP, MEMBERSHIP, Entity, compile_filters
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
from app.textsearch import check_q
from app.validation import check_storable, validate

__all__ = ["CustomerIndex", "CustomerModuleService"]

T = TypeVar("T")
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


def _has_q(filters: Any) -> bool:
    """Whether ``filters`` has a ``q`` (at the top or inside ``$and`` / ``$or``)."""
    if not isinstance(filters, Mapping):
        return False
    return any(
        (key == "q" and bool(value))
        or (key in ("$and", "$or") and isinstance(value, list | tuple) and any(map(_has_q, value)))
        for key, value in filters.items()
    )


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

    async def size(self) -> int | None:
        """How many customers the index holds (``None`` when it cannot tell now)."""
        ...


class CustomerModuleService:
    """The customer module: customers, their addresses, groups and memberships."""

    def __init__(
        self,
        store: Store,
        *,
        owns_client: bool = False,
        gate: SearchGate | None = None,
        scan_limit: int | None = None,
        index: CustomerIndex | None = None,
    ) -> None:
        self._store = store
        self._owns_client = owns_client
        self.index = index
        self.gate = gate or SearchGate()
        self.scan_limit = scan_limit

    # --- lifecycle -------------------------------------------------------------------------

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

    async def _read(self, entity: Entity, filters: Filters, work: Callable[[], Awaitable[T]]) -> T:
        """Validate ``filters``, then run ``work`` as a search (customers, or any ``q``) or as
        a plain bounded read."""
        # Validate exactly as the MongoDB path would, so bad input is invalid_data before any
        # admission, whichever path answers (relations are resolved later, by that path).
        await compile_filters(filters, entity, _no_relations)
        if entity is CUSTOMER or _has_q(filters):
            return await self.gate.search(work)
        return await self.gate.bounded(work)

    async def _list_customers(
        self, filters: Filters, config: Config, *, count: bool
    ) -> tuple[list[CustomerDTO], int | None]:
        cfg = parse_config(config, **_CUSTOMER_CONFIG)
        return await self._read(
            CUSTOMER, filters, lambda: self._find_customers(filters, cfg, count)
        )

    async def _find_customers(
        self, filters: Filters, cfg: FindConfig, count: bool
    ) -> tuple[list[CustomerDTO], int | None]:
        if self.index is None:
            return await queries.list_customers(self._store, filters, cfg, count=count)
        # The index resolves group filters to live groups only; MongoDB answers the rest.
        if not (cfg.with_deleted and "groups" in (filters or {})):
            served = await self._list_from_index(filters, cfg)
            if served is not None:
                ids, total = served
                return await queries.load_customers(self._store, ids, cfg), total
        return await self._scan(
            lambda: queries.list_customers(self._store, filters, cfg, count=count)
        )

    async def _scan(self, work: Callable[[], Awaitable[T]]) -> T:
        """MongoDB answers what the attached index could not: in a scan slot, and only when
        the customers are few enough to scan (``scan_limit``)."""
        if self.scan_limit is not None and self.index is not None:
            size = await self.index.size()
            if size is not None and size > self.scan_limit:
                raise Unavailable(
                    "The search index cannot answer this search now, and the database is not "
                    f"asked to scan more than {self.scan_limit:,} customers for it; narrow the "
                    "filters or try again shortly."
                )
        return await self.gate.scan(work)

    async def _list_from_index(
        self, filters: Filters, cfg: FindConfig
    ) -> tuple[list[str], int] | None:
        """Ask the search index for the page; ``None`` falls back to MongoDB."""
        assert self.index is not None
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
        check_q(q)
        cfg = parse_config(config, **_CUSTOMER_CONFIG)
        await compile_filters(filters, CUSTOMER, _no_relations)
        hits, total = await self.gate.search(lambda: self._rank(q, filters, cfg))
        took = round((time.perf_counter() - started) * 1000, 3)
        return CustomerSearchResult(hits=hits, count=total or 0, took_ms=took)

    async def _rank(
        self, q: str, filters: Filters, cfg: FindConfig
    ) -> tuple[list[CustomerSearchHit], int | None]:
        """The ranked hits from the index, or the literal ``q`` matches (unranked) as a list
        answers them: from the index's exact ``q`` if it can, else from MongoDB."""
        limit = 20 if cfg.take is None else cfg.take
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
        else:  # the literal q rule, unranked: as a customer list answers it
            page_cfg = FindConfig(**{**cfg.__dict__, "take": limit, "skip": 0})
            query = {**(filters or {}), "q": q}
            customers, total = await self._find_customers(query, page_cfg, True)
            hits = [CustomerSearchHit(customer=c) for c in customers]
        return hits, total

    async def create_customers(self, data: Any) -> Any:
        """Create one customer or a list (with nested ``addresses``); a batch is atomic."""
        items, single = one_or_many(data)
        docs = await customers.create(self._store, [validate(CreateCustomer, d) for d in items])
        out = [
            customer_dto(doc, addresses=[address_dto(a) for a in doc["addresses"]]) for doc in docs
        ]
        return out[0] if single else out

    async def create_customer_account(self, data: Any, auth_identity_id: str) -> CustomerDTO:
        """Register a customer (``has_account`` true) for an auth identity, Medusa's
        create-customer-account workflow: an email is required, a live account with that email
        is ``duplicate_error``, and an identity that already has a customer is
        ``invalid_data`` "Key customer_id already exists in app metadata" (under races too).
        Deleting the customer frees the identity to register again.
        """
        if not isinstance(auth_identity_id, str) or not 0 < len(auth_identity_id) <= MAX_ID_CHARS:
            raise InvalidData(
                f"auth_identity_id must be a string of 1 to {MAX_ID_CHARS} characters"
            )
        item = validate(CreateCustomer, data)
        if not item.email:
            raise email_required()
        doc = await customers.create_account(self._store, item, auth_identity_id)
        return customer_dto(doc, addresses=[address_dto(a) for a in doc["addresses"]])

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
        """Hard-delete customers (with their addresses, memberships and identity links)."""
        await customers.hard_delete(
            self._store, await self._customer_ids(selector, with_deleted=True)
        )

    async def soft_delete_customers(self, ids: Any, config: Config = None) -> None:
        """Soft-delete customers and their addresses; their auth identities may register again."""
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
        items, _ = await self._read(
            ADDRESS, filters, lambda: queries.list_addresses(self._store, filters, cfg, count=False)
        )
        return items

    async def list_and_count_customer_addresses(
        self, filters: Filters = None, config: Config = None
    ) -> tuple[list[CustomerAddressDTO], int]:
        """A page of addresses and the total number matching ``filters``."""
        cfg = parse_config(config, **_ADDRESS_CONFIG)
        items, total = await self._read(
            ADDRESS, filters, lambda: queries.list_addresses(self._store, filters, cfg, count=True)
        )
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
        items, _ = await self._read(
            GROUP, filters, lambda: queries.list_groups(self._store, filters, cfg, count=False)
        )
        return items

    async def list_and_count_customer_groups(
        self, filters: Filters = None, config: Config = None
    ) -> tuple[list[CustomerGroupDTO], int]:
        """A page of groups and the total number matching ``filters``."""
        cfg = parse_config(config, **_GROUP_CONFIG)
        items, total = await self._read(
            GROUP, filters, lambda: queries.list_groups(self._store, filters, cfg, count=True)
        )
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
        items, _ = await self._read(
            MEMBERSHIP,
            filters,
            lambda: queries.list_memberships(self._store, filters, cfg, count=False),
        )
        return items

    async def list_and_count_customer_group_customers(
        self, filters: Filters = None, config: Config = None
    ) -> tuple[list[CustomerGroupCustomerDTO], int]:
        """A page of memberships and the total number matching ``filters``."""
        cfg = parse_config(config, **_MEMBERSHIP_CONFIG)
        items, total = await self._read(
            MEMBERSHIP,
            filters,
            lambda: queries.list_memberships(self._store, filters, cfg, count=True),
        )
        return items, total or 0
