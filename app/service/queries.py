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

from collections.abc import Mapping, Sequence
from typing import Any

from app import errors
from app.dto import CustomerAddressDTO, CustomerDTO, CustomerGroupCustomerDTO, CustomerGroupDTO
from app.service.admission import max_time_ms
from app.service.common import all_of, live, mongo_sort
from app.service.filters import ADDRESS, CUSTOMER, GROUP, MEMBERSHIP, Resolver, compile_filters
from app.service.findconfig import FindConfig
from app.service.serialize import address_dto, customer_dto, group_dto, membership_dto
from app.service.store import RawDoc, Store
from app.validation import check_id, check_storable

__all__ = [
    "customer_query",
    "customers_to_dtos",
    "groups_to_dtos",
    "list_addresses",
    "list_customers",
    "list_groups",
    "list_memberships",
    "load_customers",
    "make_resolver",
    "retrieve_address",
    "retrieve_customer",
    "retrieve_group",
]


def make_resolver(store: Store, with_deleted: bool) -> Resolver:
    """Resolve relation filters (``groups`` on customers, ``customers`` on groups) to ids."""

    async def resolve(relation: str, value: Any) -> list[str]:
        if relation == "groups":
            query = (
                await compile_filters(value, GROUP)
                if isinstance(value, Mapping)
                else {"_id": {"$in": list(value)}}
            )
            docs = await store.groups.find(all_of(query, live(with_deleted)), {"_id": 1}).to_list()
            return [doc["_id"] for doc in docs]
        query = (
            await compile_filters(value, CUSTOMER)
            if isinstance(value, Mapping)
            else {"_id": {"$in": list(value)}}
        )
        docs = await store.customers.find(
            all_of(query, live(with_deleted)), {"groups.customer_group_id": 1}
        ).to_list()
        return sorted({m["customer_group_id"] for doc in docs for m in doc.get("groups", [])})

    return resolve


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
    projection = {"phone_digits": 0}
    if not config.wants("addresses"):
        projection["addresses"] = 0
    if not config.wants("groups"):
        projection["groups"] = 0
    return projection


async def customer_query(
    store: Store, filters: Mapping[str, Any] | None, config: FindConfig
) -> dict[str, Any]:
    """The MongoDB query for customer ``filters`` (soft-deleted hidden unless asked)."""
    query = await compile_filters(filters, CUSTOMER, make_resolver(store, config.with_deleted))
    return all_of(query, live(config.with_deleted))


async def list_customers(
    store: Store, filters: Mapping[str, Any] | None, config: FindConfig, *, count: bool
) -> tuple[list[CustomerDTO], int | None]:
    """A page of customers (and the total count when asked) straight from MongoDB."""
    query = await customer_query(store, filters, config)
    docs = await _find(store.customers, query, config, _customer_projection(config))
    total = await _count(store.customers, query) if count else None
    return await customers_to_dtos(store, docs, config), total


async def load_customers(store: Store, ids: Sequence[str], config: FindConfig) -> list[CustomerDTO]:
    """Customers by id, in the order of ``ids`` (hydrates a page the search index chose)."""
    if not ids:  # an empty page asks nothing (the embedded server scans for ``$in: []``)
        return []
    docs = await store.customers.find(
        {"_id": {"$in": list(ids)}}, _customer_projection(config), max_time_ms=max_time_ms()
    ).to_list()
    by_id = {doc["_id"]: doc for doc in docs}
    return await customers_to_dtos(store, [by_id[i] for i in ids if i in by_id], config)


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
            groups_by_id = {g["_id"]: group_dto(g) for g in found}
    result = []
    for doc in docs:
        relations: dict[str, Any] = {}
        if config.wants("addresses"):
            relations["addresses"] = [
                address_dto(a)
                for a in doc.get("addresses", [])
                if config.with_deleted or a.get("deleted_at") is None
            ]
        if config.wants("groups"):
            relations["groups"] = [
                groups_by_id[m["customer_group_id"]]
                for m in _live_memberships(doc, config)
                if m["customer_group_id"] in groups_by_id
            ]
        result.append(customer_dto(doc, config.select, **relations))
    return result


def _live_memberships(doc: RawDoc, config: FindConfig) -> list[RawDoc]:
    return [m for m in doc.get("groups", []) if config.with_deleted or m.get("deleted_at") is None]


# --- groups --------------------------------------------------------------------------------


async def list_groups(
    store: Store, filters: Mapping[str, Any] | None, config: FindConfig, *, count: bool
) -> tuple[list[CustomerGroupDTO], int | None]:
    """A page of groups (and the total count when asked)."""
    query = await compile_filters(filters, GROUP, make_resolver(store, config.with_deleted))
    query = all_of(query, live(config.with_deleted))
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
        return [group_dto(doc, config.select) for doc in docs]
    ids = [doc["_id"] for doc in docs]
    members = (
        await store.customers.find(
            all_of(
                {"groups.customer_group_id": {"$in": ids}},
                live(config.with_deleted),
            ),
            {"addresses": 0, "phone_digits": 0},
        )
        .sort("_id", 1)
        .to_list()
    )
    by_group: dict[str, list[CustomerDTO]] = {i: [] for i in ids}
    for member in members:
        dto = customer_dto(member)
        for membership in member.get("groups", []):
            if membership["customer_group_id"] in by_group and membership.get("deleted_at") is None:
                by_group[membership["customer_group_id"]].append(dto)
    return [group_dto(doc, config.select, customers=by_group[doc["_id"]]) for doc in docs]


# --- addresses -----------------------------------------------------------------------------


def _owner_prefilter(filters: Mapping[str, Any] | None, array: str) -> dict[str, Any]:
    """Narrow the customers to unwind by a plain ``customer_id`` filter when there is one."""
    owner = filters.get("customer_id") if isinstance(filters, Mapping) else None
    if isinstance(owner, str):
        return {"_id": owner}
    if isinstance(owner, list) and all(isinstance(o, str) for o in owner):
        return {"_id": {"$in": owner}}
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
    store: Store, filters: Mapping[str, Any] | None, config: FindConfig, *, count: bool
) -> tuple[list[CustomerAddressDTO], int | None]:
    """A page of addresses across customers (and the total count when asked)."""
    query = await compile_filters(filters, ADDRESS)
    base = [
        {"$match": _owner_prefilter(filters, "addresses")},
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
        return [address_dto(doc, config.select) for doc in docs]
    ids = sorted({doc["customer_id"] for doc in docs})
    found = await store.customers.find(
        {"_id": {"$in": ids}}, {"addresses": 0, "groups": 0, "phone_digits": 0}
    ).to_list()
    owners = {c["_id"]: customer_dto(c) for c in found}
    return [address_dto(d, config.select, customer=owners.get(d["customer_id"])) for d in docs]


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

_MEMBERSHIP_PROJECTION = {
    "_id": 0,
    "id": "$groups.id",
    "customer_id": "$_id",
    "customer_group_id": "$groups.customer_group_id",
    "metadata": "$groups.metadata",
    "created_by": "$groups.created_by",
    "created_at": "$groups.created_at",
    "updated_at": "$groups.updated_at",
    "deleted_at": "$groups.deleted_at",
    "customer_deleted_at": "$deleted_at",
}


async def list_memberships(
    store: Store, filters: Mapping[str, Any] | None, config: FindConfig, *, count: bool
) -> tuple[list[CustomerGroupCustomerDTO], int | None]:
    """A page of memberships (and the total count when asked)."""
    query = await compile_filters(filters, MEMBERSHIP)
    hidden: dict[str, Any] = {}
    if not config.with_deleted:
        deleted_groups = await store.groups.distinct("_id", {"deleted_at": {"$ne": None}})
        hidden = {"deleted_at": None, "customer_deleted_at": None}
        if deleted_groups:
            hidden["customer_group_id"] = {"$nin": deleted_groups}
    base = [
        {"$match": _owner_prefilter(filters, "groups")},
        {"$unwind": "$groups"},
        {"$project": _MEMBERSHIP_PROJECTION},
        {"$match": all_of(query, hidden)},
    ]
    docs, total = await _page(store, base, config, count=count)
    relations: dict[str, dict[str, Any]] = {"customer": {}, "customer_group": {}}
    if config.wants("customer"):
        ids = sorted({d["customer_id"] for d in docs})
        found = await store.customers.find(
            {"_id": {"$in": ids}}, {"addresses": 0, "groups": 0}
        ).to_list()
        relations["customer"] = {c["_id"]: customer_dto(c) for c in found}
    if config.wants("customer_group"):
        ids = sorted({d["customer_group_id"] for d in docs})
        found = await store.groups.find({"_id": {"$in": ids}}).to_list()
        relations["customer_group"] = {g["_id"]: group_dto(g) for g in found}
    result = []
    for doc in docs:
        extra = {}
        if config.wants("customer"):
            extra["customer"] = relations["customer"].get(doc["customer_id"])
        if config.wants("customer_group"):
            extra["customer_group"] = relations["customer_group"].get(doc["customer_group_id"])
        result.append(membership_dto(doc, config.select, **extra))
    return result, total
