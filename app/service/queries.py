"""Reads: retrieve and list customers, groups, addresses and memberships, with relations.

Addresses and memberships are embedded in customers, so their lists are aggregation pipelines
that unwind the arrays. Soft-deleted rows are hidden unless ``with_deleted``; a membership is
hidden while its customer or its group is soft-deleted (Medusa: "the related row is filtered
out"), and comes back when they are restored.

Every find, count and aggregation of a list runs under ``maxTimeMS`` (what is left of the
running search budget, :func:`app.service.admission.max_time_ms`), so MongoDB stops working on
a request its caller has given up on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from app import errors
from app.dto import CustomerAddressDTO, CustomerDTO, CustomerGroupCustomerDTO, CustomerGroupDTO
from app.entities import ADDRESS, CUSTOMER, GROUP, MEMBERSHIP, Entity, Op
from app.filtering import And, Compare, Node, Or, Related, contains
from app.input_checks import check_id, check_storable
from app.service.admission import max_time_ms
from app.service.documents import MEMBERSHIP_PROJECTION, to_dto
from app.service.findconfig import FindConfig
from app.service.mongo import all_of, live, mongo_sort
from app.service.mongo_filters import to_mongo
from app.service.store import RawDoc, Store

if TYPE_CHECKING:
    from app.service.methods.base import ListedCustomer

__all__ = [
    "assume_live",
    "customers_to_dtos",
    "find_ids",
    "groups_to_dtos",
    "list_addresses",
    "list_customers",
    "list_groups",
    "list_memberships",
    "listed_customers",
    "load_customers",
    "reads_along_an_index",
    "resolve_relations",
    "retrieve_address",
    "retrieve_customer",
    "retrieve_group",
]

_HIDDEN = {f.path: 0 for f in CUSTOMER.stored if f.internal}
"""Stored-only customer fields (the phone's digits, the version): never read for a DTO."""


async def resolve_relations(store: Store, where: Node, entity: Entity, with_deleted: bool) -> Node:
    """``where`` with its relation filters resolved to the related ids (live ones only unless
    ``with_deleted``): a customer's ``groups`` → group ids, a group's ``customers`` → the ids
    of the groups those customers belong to."""
    if not contains(where, Related):
        return where
    if isinstance(where, And | Or):
        parts = tuple(
            [await resolve_relations(store, p, entity, with_deleted) for p in where.parts]
        )
        return And(parts) if isinstance(where, And) else Or(parts)
    assert isinstance(where, Related)
    if where.relation == "groups":
        query = all_of(to_mongo(where.where, GROUP), live(with_deleted))
        docs = await store.groups.find(query, {"_id": 1}).to_list()
        return where.resolved(tuple(sorted(doc["_id"] for doc in docs)))
    query = all_of(to_mongo(where.where, CUSTOMER), live(with_deleted))
    docs = await store.customers.find(query, {"groups.customer_group_id": 1}).to_list()
    ids = sorted({m["customer_group_id"] for doc in docs for m in doc.get("groups", [])})
    return where.resolved(tuple(ids))


def assume_live(where: Node) -> Node | None:
    """``where`` as :func:`resolve_relations` resolves it (live ids only) when every group it
    names exists and is live, without reading them; None when a relation filter is not a list
    of group ids (``groups[]=…``, ``groups: {id: […]}``). What a read may start with while
    MongoDB checks the groups."""
    if not contains(where, Related):
        return where
    if isinstance(where, And | Or):
        parts = [assume_live(part) for part in where.parts]
        if any(part is None for part in parts):
            return None
        kept = tuple(part for part in parts if part is not None)
        return And(kept) if isinstance(where, And) else Or(kept)
    assert isinstance(where, Related)
    ids = _named_ids(where.where) if where.relation == "groups" else None
    return None if ids is None else where.resolved(tuple(sorted(set(ids))))


def _named_ids(where: Node) -> tuple[str, ...] | None:
    """The ids a filter on groups names, when it is nothing but a list of ids."""
    if isinstance(where, And) and len(where.parts) == 1:
        where = where.parts[0]
    if not (isinstance(where, Compare) and where.field == "id"):
        return None
    values = where.value if where.op is Op.IN else (where.value,) if where.op is Op.EQ else None
    if values is None or not all(isinstance(value, str) for value in values):
        return None
    return tuple(values)


async def mongo_query(
    store: Store, where: Node, entity: Entity, with_deleted: bool
) -> dict[str, Any]:
    """The MongoDB query of a compiled filter, its relations resolved, soft-deleted rows
    hidden unless ``with_deleted``."""
    resolved = await resolve_relations(store, where, entity, with_deleted)
    return all_of(to_mongo(resolved, entity), live(with_deleted))


async def find_ids(
    store: Store, collection: Any, where: Node, entity: Entity, *, with_deleted: bool = False
) -> list[str]:
    """Ids of the documents (customers or groups) matching a compiled filter, ascending."""
    query = await mongo_query(store, where, entity, with_deleted)
    docs = await collection.find(query, {"_id": 1}).sort("_id", 1).to_list()
    return [doc["_id"] for doc in docs]


def _check_id(value: Any, entity: str) -> None:
    """Medusa's "<entity> - id must be defined", or invalid_data for a non-id."""
    if not value:
        raise errors.id_must_be_defined(entity)
    if not isinstance(value, str):
        raise errors.InvalidData("Invalid request: id must be a string")
    check_id(value)
    check_storable(value, "id")


def _limited() -> dict[str, int]:
    """``maxTimeMS`` of the running budget, as keyword arguments (none outside a budget)."""
    ms = max_time_ms()
    return {} if ms is None else {"maxTimeMS": ms}


async def _count(collection: Any, query: dict[str, Any]) -> int:
    return await collection.count_documents(query, **_limited())


async def _aggregate(collection: Any, pipeline: list[dict[str, Any]]) -> list[RawDoc]:
    return await (await collection.aggregate(pipeline, **_limited())).to_list()


async def _find(
    collection: Any, query: dict[str, Any], config: FindConfig, projection: Any = None
) -> list[RawDoc]:
    """One page of a plain find; ``take=0`` is an empty page (PyMongo reads 0 as "no limit")."""
    if config.take == 0:
        return []
    cursor = collection.find(query, projection, max_time_ms=max_time_ms())
    cursor = cursor.sort(mongo_sort(config.sort)).skip(config.skip)
    if config.take is not None:
        cursor = cursor.limit(config.take)
    return await cursor.to_list()


# --- customers -----------------------------------------------------------------------------


def _customer_projection(config: FindConfig) -> dict[str, int]:
    """What a customer read leaves out: stored-only fields, and embedded relations not asked
    for."""
    projection = dict(_HIDDEN)
    for relation in CUSTOMER.relations:
        if relation.embeds is not None and not config.wants(relation.name):
            projection[relation.name] = 0
    return projection


async def list_customers(
    store: Store, where: And, config: FindConfig, *, count: bool
) -> tuple[list[CustomerDTO], int | None]:
    """A page of customers (and the total count when asked) straight from MongoDB."""
    query = await mongo_query(store, where, CUSTOMER, config.with_deleted)
    docs = await _find(store.customers, query, config, _customer_projection(config))
    total = await _count(store.customers, query) if count else None
    return await customers_to_dtos(store, docs, config), total


def reads_along_an_index(where: And, config: FindConfig) -> bool:
    """Whether MongoDB reads this customer page along an index, without a scan: a ``groups``
    filter and nothing else, ordered by id (``group_refs``: the page and its count cost what
    the group's members cost). A page with no filter is not one on SecantusDB: it sorts and
    counts every live customer, as a scan does (measured, see ``SECANTUSDB_PAGE_LIMIT``)."""
    groups = [p for p in where.parts if isinstance(p, Related) and p.relation == "groups"]
    only_groups = bool(groups) and len(groups) == len(where.parts)
    return only_groups and all(name == "id" for name, _ in config.sort)


async def load_customers(store: Store, ids: Sequence[str], config: FindConfig) -> list[CustomerDTO]:
    """Customers by id, in the order of ``ids`` (hydrates a page the search index chose)."""
    if not ids:  # an empty page asks nothing (the embedded server scans for ``$in: []``)
        return []
    docs = await store.customers.find(
        {"_id": {"$in": list(ids)}}, _customer_projection(config), max_time_ms=max_time_ms()
    ).to_list()
    by_id = {doc["_id"]: doc for doc in docs}
    return await customers_to_dtos(store, [by_id[i] for i in ids if i in by_id], config)


_PAGE = TypeAdapter(list[CustomerDTO])
"""Validates a page of stored response documents in one call (half the cost of one call a
document)."""


async def listed_customers(
    store: Store, listed: Sequence[ListedCustomer], config: FindConfig
) -> list[CustomerDTO]:
    """The customers of a page the index chose, in its order: built from the response
    documents it stored when ``config`` asks for no more than they hold (no ``select``, no
    relations) and it holds a valid one for each; else hydrated from MongoDB."""
    if config.select is None and not config.relations:
        documents = [c.document for c in listed if c.document is not None]
        if len(documents) == len(listed):
            try:
                page = _PAGE.validate_json(b"[" + b",".join(documents) + b"]")
                if len(page) == len(listed):  # (each stored document is one JSON value)
                    return page
            except ValidationError:  # stored around the service: MongoDB's answer is the rule
                pass
    return await load_customers(store, [customer.id for customer in listed], config)


async def retrieve_customer(store: Store, customer_id: Any, config: FindConfig) -> CustomerDTO:
    """One customer by id, or Medusa's not-found error."""
    _check_id(customer_id, "customer")
    doc = await store.customers.find_one(
        all_of({"_id": customer_id}, live(config.with_deleted)), _customer_projection(config)
    )
    if doc is None:
        raise errors.entity_not_found("Customer", customer_id)
    return (await customers_to_dtos(store, [doc], config))[0]


async def customers_to_dtos(
    store: Store, docs: list[RawDoc], config: FindConfig
) -> list[CustomerDTO]:
    """Convert customer documents, loading the ``groups`` relation when asked."""
    groups_by_id: dict[str, CustomerGroupDTO] = {}
    if config.wants("groups"):
        group_ids = {m["customer_group_id"] for d in docs for m in _live_memberships(d, config)}
        if group_ids:
            found = await store.groups.find(
                all_of({"_id": {"$in": sorted(group_ids)}}, live(config.with_deleted))
            ).to_list()
            groups_by_id = {g["_id"]: to_dto(CustomerGroupDTO, g) for g in found}
    result = []
    for doc in docs:
        relations: dict[str, Any] = {}
        if config.wants("addresses"):
            relations["addresses"] = [
                to_dto(CustomerAddressDTO, a)
                for a in doc.get("addresses", [])
                if config.with_deleted or a.get("deleted_at") is None
            ]
        if config.wants("groups"):
            relations["groups"] = [
                groups_by_id[m["customer_group_id"]]
                for m in _live_memberships(doc, config)
                if m["customer_group_id"] in groups_by_id
            ]
        result.append(to_dto(CustomerDTO, doc, config.select, **relations))
    return result


def _live_memberships(doc: RawDoc, config: FindConfig) -> list[RawDoc]:
    return [m for m in doc.get("groups", []) if config.with_deleted or m.get("deleted_at") is None]


# --- groups --------------------------------------------------------------------------------


async def list_groups(
    store: Store, where: And, config: FindConfig, *, count: bool
) -> tuple[list[CustomerGroupDTO], int | None]:
    """A page of groups (and the total count when asked)."""
    query = await mongo_query(store, where, GROUP, config.with_deleted)
    docs = await _find(store.groups, query, config)
    total = await _count(store.groups, query) if count else None
    return await groups_to_dtos(store, docs, config), total


async def retrieve_group(store: Store, group_id: Any, config: FindConfig) -> CustomerGroupDTO:
    """One group by id, or Medusa's not-found error."""
    _check_id(group_id, "customer_group")
    doc = await store.groups.find_one(all_of({"_id": group_id}, live(config.with_deleted)))
    if doc is None:
        raise errors.entity_not_found("CustomerGroup", group_id)
    return (await groups_to_dtos(store, [doc], config))[0]


async def groups_to_dtos(
    store: Store, docs: list[RawDoc], config: FindConfig
) -> list[CustomerGroupDTO]:
    """Convert group documents, loading the ``customers`` relation when asked."""
    if not config.wants("customers"):
        return [to_dto(CustomerGroupDTO, doc, config.select) for doc in docs]
    ids = [doc["_id"] for doc in docs]
    members = (
        await store.customers.find(
            all_of(
                {"groups.customer_group_id": {"$in": ids}},
                live(config.with_deleted),
            ),
            {**_HIDDEN, "addresses": 0},
        )
        .sort("_id", 1)
        .to_list()
    )
    by_group: dict[str, list[CustomerDTO]] = {i: [] for i in ids}
    for member in members:
        dto = to_dto(CustomerDTO, member)
        for membership in member.get("groups", []):
            if membership["customer_group_id"] in by_group and membership.get("deleted_at") is None:
                by_group[membership["customer_group_id"]].append(dto)
    return [
        to_dto(CustomerGroupDTO, doc, config.select, customers=by_group[doc["_id"]]) for doc in docs
    ]


# --- addresses -----------------------------------------------------------------------------


def _owner_prefilter(where: And, array: str) -> dict[str, Any]:
    """Narrow the customers to unwind by a top-level ``customer_id`` filter when there is one
    (an id or a list of ids)."""
    for part in where.parts:
        if isinstance(part, Compare) and part.field == "customer_id":
            if part.op is Op.EQ and isinstance(part.value, str):
                return {"_id": part.value}
            if part.op is Op.IN and all(isinstance(o, str) for o in part.value):
                return {"_id": {"$in": list(part.value)}}
    return {f"{array}.0": {"$exists": True}}


async def _page(
    store: Store, base: list[dict[str, Any]], config: FindConfig, *, count: bool
) -> tuple[list[RawDoc], int | None]:
    page = [*base, {"$sort": dict(mongo_sort(config.sort, "id"))}]
    if config.skip:
        page.append({"$skip": config.skip})
    if config.take is not None:
        page.append({"$limit": config.take})
    docs = [] if config.take == 0 else await _aggregate(store.customers, page)
    total = None
    if count:
        counted = await _aggregate(store.customers, [*base, {"$count": "n"}])
        total = counted[0]["n"] if counted else 0
    return docs, total


async def list_addresses(
    store: Store, where: And, config: FindConfig, *, count: bool
) -> tuple[list[CustomerAddressDTO], int | None]:
    """A page of addresses across customers (and the total count when asked)."""
    query = to_mongo(where, ADDRESS)
    base: list[dict[str, Any]] = [
        {"$match": _owner_prefilter(where, "addresses")},
        {"$unwind": "$addresses"},
        {"$replaceRoot": {"newRoot": "$addresses"}},
        {"$match": all_of(query, live(config.with_deleted))},
    ]
    docs, total = await _page(store, base, config, count=count)
    return await addresses_to_dtos(store, docs, config), total


async def addresses_to_dtos(
    store: Store, docs: list[RawDoc], config: FindConfig
) -> list[CustomerAddressDTO]:
    """Convert address sub-documents, loading the ``customer`` relation when asked."""
    if not config.wants("customer"):
        return [to_dto(CustomerAddressDTO, doc, config.select) for doc in docs]
    ids = sorted({doc["customer_id"] for doc in docs})
    found = await store.customers.find(
        {"_id": {"$in": ids}}, {**_HIDDEN, "addresses": 0, "groups": 0}
    ).to_list()
    owners = {c["_id"]: to_dto(CustomerDTO, c) for c in found}
    return [
        to_dto(CustomerAddressDTO, d, config.select, customer=owners.get(d["customer_id"]))
        for d in docs
    ]


async def retrieve_address(store: Store, address_id: Any, config: FindConfig) -> CustomerAddressDTO:
    """One address by id, or Medusa's not-found error."""
    _check_id(address_id, "customer_address")
    doc = await store.customers.find_one({"addresses.id": address_id}, {"addresses": 1})
    for address in (doc or {}).get("addresses", []):
        if address["id"] == address_id and (
            config.with_deleted or address.get("deleted_at") is None
        ):
            return (await addresses_to_dtos(store, [address], config))[0]
    raise errors.entity_not_found("CustomerAddress", address_id)


# --- memberships ---------------------------------------------------------------------------


async def list_memberships(
    store: Store, where: And, config: FindConfig, *, count: bool
) -> tuple[list[CustomerGroupCustomerDTO], int | None]:
    """A page of memberships (and the total count when asked)."""
    query = to_mongo(where, MEMBERSHIP)
    hidden: dict[str, Any] = {}
    if not config.with_deleted:
        deleted_groups = await store.groups.distinct("_id", {"deleted_at": {"$ne": None}})
        hidden = {"deleted_at": None, "customer_deleted_at": None}
        if deleted_groups:
            hidden["customer_group_id"] = {"$nin": deleted_groups}
    base: list[dict[str, Any]] = [
        {"$match": _owner_prefilter(where, "groups")},
        {"$unwind": "$groups"},
        {"$project": MEMBERSHIP_PROJECTION},
        {"$match": all_of(query, hidden)},
    ]
    docs, total = await _page(store, base, config, count=count)
    relations: dict[str, dict[str, Any]] = {"customer": {}, "customer_group": {}}
    if config.wants("customer"):
        ids = sorted({d["customer_id"] for d in docs})
        found = await store.customers.find(
            {"_id": {"$in": ids}}, {**_HIDDEN, "addresses": 0, "groups": 0}
        ).to_list()
        relations["customer"] = {c["_id"]: to_dto(CustomerDTO, c) for c in found}
    if config.wants("customer_group"):
        ids = sorted({d["customer_group_id"] for d in docs})
        found = await store.groups.find({"_id": {"$in": ids}}).to_list()
        relations["customer_group"] = {g["_id"]: to_dto(CustomerGroupDTO, g) for g in found}
    result = []
    for doc in docs:
        extra = {}
        if config.wants("customer"):
            extra["customer"] = relations["customer"].get(doc["customer_id"])
        if config.wants("customer_group"):
            extra["customer_group"] = relations["customer_group"].get(doc["customer_group_id"])
        result.append(to_dto(CustomerGroupCustomerDTO, doc, config.select, **extra))
    return result, total
