"""The service's customer methods: reads (served by the search index when one is attached),
the ranked lookup, writes and registration."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar, overload

from pymongo.errors import PyMongoError

from app.dto import CustomerAddressDTO, CustomerDTO, CustomerSearchHit, CustomerSearchResult
from app.entities import CUSTOMER
from app.errors import InvalidData, Unavailable, email_required
from app.filtering import And, Node, Related, Text, compile_filters
from app.input_checks import check_storable, validate
from app.limits import MAX_ID_CHARS
from app.service import customers, merging, queries
from app.service.arguments import id_list, is_selector, one_or_many
from app.service.documents import to_dto
from app.service.etags import IfMatch, single_target
from app.service.findconfig import FindConfig, parse_config
from app.service.inputs import CreateCustomer, UpdateCustomer
from app.service.methods.base import (
    Config,
    Data,
    Filters,
    Ids,
    ListedCustomer,
    ManyIds,
    RankedHit,
    ServiceBase,
)
from app.service.store import RawDoc
from app.textsearch import check_q
from app.timing import timed

__all__ = ["CustomerMethods"]

T = TypeVar("T")

DEFAULT_SEARCH_TAKE = 20  # hits of a ranked lookup when ``take`` is not given
SIZE_ESTIMATE_MS = 500  # MongoDB's estimate of the customers, when the index cannot tell
SIZE_ESTIMATE_TTL = 30.0  # seconds that estimate is used before it is asked again


def _filters_groups(where: And) -> bool:
    """Whether a top-level ``groups`` filter is there (the index resolves groups to live
    groups only, so with ``with_deleted`` MongoDB answers)."""
    return any(isinstance(part, Related) and part.relation == "groups" for part in where.parts)


def _with_q(where: And, q: str) -> And:
    """``where`` with its top-level ``q`` replaced by ``q``."""
    kept = tuple(part for part in where.parts if not isinstance(part, Text))
    return And((*kept, *compile_filters({"q": q}, CUSTOMER).parts))


class CustomerMethods(ServiceBase):
    """Customers: retrieve, list, search, create, register, update, delete, restore."""

    async def retrieve_customer(self, customer_id: str, config: Config = None) -> CustomerDTO:
        """One customer; ``not_found`` when missing or soft-deleted."""
        cfg = parse_config(config, CUSTOMER)
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
        cfg = parse_config(config, CUSTOMER)
        where = compile_filters(filters, CUSTOMER)
        return await self._read(where, lambda: self._find_customers(where, cfg, count), search=True)

    async def _find_customers(
        self, where: And, cfg: FindConfig, count: bool
    ) -> tuple[list[CustomerDTO], int | None]:
        if self.index is None:
            return await queries.list_customers(self._store, where, cfg, count=count)
        if not (cfg.with_deleted and _filters_groups(where)):
            served = await self._served_page(where, cfg)
            if served is not None:
                listed, total = served
                return await timed(
                    "hydrate", queries.listed_customers(self._store, listed, cfg)
                ), total
        return await self._scan(
            lambda: queries.list_customers(self._store, where, cfg, count=count),
            along_an_index=queries.reads_along_an_index(where, cfg),
        )

    async def _served_page(
        self, where: And, cfg: FindConfig
    ) -> tuple[Sequence[ListedCustomer], int] | None:
        """The page from the index (None: MongoDB must answer), its relations resolved to
        live ids. A filter naming its groups by id is read at once as if they all were live,
        beside the MongoDB read that checks them: that answer stands when they are; else the
        index is read again with the live ones."""
        assert self.index is not None
        index = self.index

        async def read(resolved: Node) -> tuple[Sequence[ListedCustomer], int] | None:
            return await index.list_customers(
                resolved,
                skip=cfg.skip,
                take=cfg.take,
                order=cfg.sort,
                with_deleted=cfg.with_deleted,
            )

        assumed = queries.assume_live(where)
        if assumed is where:  # no relation filter
            return await read(where)
        if assumed is None:  # groups filtered by more than their ids: resolve them first
            return await read(await self._timed_live(where))
        checking = asyncio.ensure_future(self._timed_live(where))
        try:
            served = await read(assumed)
        except BaseException:
            checking.cancel()
            raise
        resolved = await checking
        return served if resolved == assumed else await read(resolved)

    async def _timed_live(self, where: Node) -> Node:
        return await timed("relations", self._live(where))

    async def _live(self, where: Node) -> Node:
        """``where`` as the index reads it: relations resolved to live ids."""
        return await queries.resolve_relations(self._store, where, CUSTOMER, with_deleted=False)

    async def _scan(self, work: Callable[[], Awaitable[T]], *, along_an_index: bool) -> T:
        """MongoDB answers what the attached index could not (it lags, is being built, or
        cannot express the filters), in a scan slot, and only when the customers are few
        enough: ``page_limit`` for a page it reads along an index, ``scan_limit`` for a scan.
        Beyond, 503 with ``Retry-After``: never a stale page from the index."""
        limit = self.page_limit if along_an_index else self.scan_limit
        if limit is not None and self.index is not None:
            size = await self._size()
            if size is None or size > limit:
                what = "read a page of" if along_an_index else "scan"
                raise Unavailable(
                    "The search index cannot answer this search now, and the database is not "
                    f"asked to {what} more than {limit:,} customers for it; narrow the "
                    "filters or try again shortly."
                )
        return await self.gate.scan(work)

    async def _size(self) -> int | None:
        """How many customers there are, for the fallback's limits: the index's count, else
        (no generation yet, an indexer that is off, the backend down) MongoDB's estimate,
        given at most :data:`SIZE_ESTIMATE_MS` and remembered for :data:`SIZE_ESTIMATE_TTL`
        seconds. On SecantusDB even the estimate reads the collection, so a large one runs out
        of time and counts as too big (``None``), a small one is answered as before."""
        assert self.index is not None
        size = await self.index.size()
        if size is not None:
            return size
        now = time.monotonic()
        if self._size_estimate is None or now - self._size_estimate[0] > SIZE_ESTIMATE_TTL:
            try:
                estimate: int | None = await self._store.customers.estimated_document_count(
                    maxTimeMS=SIZE_ESTIMATE_MS
                )
            except PyMongoError:
                estimate = None
            self._size_estimate = (now, estimate)
        return self._size_estimate[1]

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
        cfg = parse_config(config, CUSTOMER)
        where = compile_filters(filters, CUSTOMER)
        hits, total = await self.gate.search(lambda: self._rank(q, where, cfg))
        took = round((time.perf_counter() - started) * 1000, 3)
        return CustomerSearchResult(hits=hits, count=total or 0, took_ms=took)

    async def _rank(
        self, q: str, where: And, cfg: FindConfig
    ) -> tuple[list[CustomerSearchHit], int | None]:
        """The ranked hits from the index, or the literal ``q`` matches (unranked) as a list
        answers them: from the index's exact ``q`` if it can, else from MongoDB."""
        limit = DEFAULT_SEARCH_TAKE if cfg.take is None else cfg.take
        served: tuple[Sequence[RankedHit], int] | None = None
        total: int | None
        if self.index is not None and q.strip():
            served = await self.index.search_customers(
                q, await self._live(where), limit, with_deleted=cfg.with_deleted
            )
        if served is not None:
            found, total = served
            loaded = await queries.load_customers(self._store, [h.id for h in found], cfg)
            by_id = {c.id: c for c in loaded}
            hits = [
                CustomerSearchHit(customer=by_id[h.id], score=h.score, highlights=h.highlights)
                for h in found
                if h.id in by_id
            ]
        else:  # the literal q rule, unranked: as a customer list answers it
            page_cfg = dataclasses.replace(cfg, take=limit, skip=0)
            listed, total = await self._find_customers(_with_q(where, q), page_cfg, True)
            hits = [CustomerSearchHit(customer=c) for c in listed]
        return hits, total

    @overload
    async def create_customers(self, data: Data) -> CustomerDTO: ...
    @overload
    async def create_customers(self, data: Sequence[Data]) -> list[CustomerDTO]: ...
    async def create_customers(
        self, data: Data | Sequence[Data]
    ) -> CustomerDTO | list[CustomerDTO]:
        """Create one customer or a list (with nested ``addresses``); a batch is atomic."""
        items, single = one_or_many(data)
        docs = await customers.create(self._store, [validate(CreateCustomer, d) for d in items])
        if self.link_guest_on_register:  # right after the creation: each link is idempotent
            docs = [await self._link_guest(doc) for doc in docs]
        out = [_with_addresses(doc) for doc in docs]
        return out[0] if single else out

    async def _link_guest(self, doc: RawDoc) -> RawDoc:
        """A new account after merging the live guest with its email into it."""
        if not doc.get("has_account"):
            return doc
        return await merging.link_guest(self._store, doc)

    async def create_customer_account(self, data: Data, auth_identity_id: str) -> CustomerDTO:
        """Register a customer (``has_account`` true) for an auth identity, Medusa's
        create-customer-account workflow: an email is required, a live account with that email
        is ``duplicate_error``, and an identity that already has a customer is
        ``invalid_data`` "Key customer_id already exists in app metadata" (under races too).
        Deleting the customer frees the identity to register again. With
        ``link_guest_on_register``, the live guest with the same email is merged into the new
        account in the same transaction.
        """
        if not _is_identity_id(auth_identity_id):
            raise InvalidData(
                f"auth_identity_id must be a string of 1 to {MAX_ID_CHARS} characters"
            )
        item = validate(CreateCustomer, data)
        if not item.email:
            raise email_required()
        doc = await customers.create_account(
            self._store, item, auth_identity_id, link_guest=self.link_guest_on_register
        )
        return _with_addresses(doc)

    @overload
    async def update_customers(
        self, selector: str, data: Data, *, if_match: IfMatch = None
    ) -> CustomerDTO: ...
    @overload
    async def update_customers(
        self, selector: ManyIds | Mapping[str, object], data: Data, *, if_match: IfMatch = None
    ) -> list[CustomerDTO]: ...
    async def update_customers(
        self, selector: Ids | Mapping[str, object], data: Data, *, if_match: IfMatch = None
    ) -> CustomerDTO | list[CustomerDTO]:
        """Update by id (→ one), ids or a filter selector (→ list); metadata is merged.

        ``if_match`` (one id only): the customer's ETag (:func:`app.service.etags.etag_of`)
        the change is based on; if it changed meanwhile, ``precondition_failed`` and nothing is
        written.
        """
        single_target(selector, if_match, "customer")
        update = validate(UpdateCustomer, data)
        ids = await self._customer_ids(selector)
        if not ids:
            return []
        docs = await customers.update(self._store, ids, update, if_match=if_match)
        out = [to_dto(CustomerDTO, doc) for doc in docs]
        return out[0] if isinstance(selector, str) else out

    async def _customer_ids(
        self, selector: Ids | Mapping[str, object], *, with_deleted: bool = False
    ) -> list[str]:
        if is_selector(selector):
            where = compile_filters(selector, CUSTOMER)
            return await queries.find_ids(
                self._store, self._store.customers, where, CUSTOMER, with_deleted=with_deleted
            )
        return id_list(selector)

    async def delete_customers(self, selector: Ids | Mapping[str, object]) -> None:
        """Hard-delete customers (with their addresses, memberships and identity links)."""
        await customers.hard_delete(
            self._store, await self._customer_ids(selector, with_deleted=True)
        )

    async def soft_delete_customers(
        self, ids: Ids, config: Config = None, *, if_match: IfMatch = None
    ) -> None:
        """Soft-delete customers and their addresses; their auth identities may register again.
        ``if_match`` (one id only): the ETag the deletion is based on."""
        single_target(ids, if_match, "customer")
        await customers.soft_delete(self._store, id_list(ids), if_match=if_match)

    async def restore_customers(self, ids: Ids, config: Config = None) -> None:
        """Restore soft-deleted customers and the addresses deleted with them."""
        await customers.restore(self._store, id_list(ids))


def _is_identity_id(value: object) -> bool:
    """Whether ``value`` can be an auth identity id (callers may be untyped)."""
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS


def _with_addresses(doc: RawDoc) -> CustomerDTO:
    """A new customer's DTO, with the addresses it was created with."""
    addresses = [to_dto(CustomerAddressDTO, a) for a in doc["addresses"]]
    return to_dto(CustomerDTO, doc, addresses=addresses)
