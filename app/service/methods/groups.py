"""The service's group and membership methods."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import overload

from app.dto import CustomerGroupCustomerDTO, CustomerGroupDTO
from app.entities import GROUP, MEMBERSHIP
from app.filtering import compile_filters
from app.input_checks import validate
from app.service import groups, queries
from app.service.arguments import id_list, is_selector, one_or_many
from app.service.documents import to_dto
from app.service.etags import IfMatch, single_target
from app.service.findconfig import parse_config
from app.service.inputs import CreateGroup, GroupPair, UpdateGroup
from app.service.methods.base import Config, Data, Filters, Ids, ManyIds, ServiceBase

__all__ = ["GroupMethods"]

Pairs = Data | Sequence[Data]
"""One (customer, group) pair or several: ``{customer_id, customer_group_id}``."""


class GroupMethods(ServiceBase):
    """Groups (create, retrieve, list, update, delete, restore) and their memberships."""

    @overload
    async def create_customer_groups(self, data: Data) -> CustomerGroupDTO: ...
    @overload
    async def create_customer_groups(self, data: Sequence[Data]) -> list[CustomerGroupDTO]: ...
    async def create_customer_groups(
        self, data: Data | Sequence[Data]
    ) -> CustomerGroupDTO | list[CustomerGroupDTO]:
        """Create one group or a list; names are unique among live groups."""
        items, single = one_or_many(data)
        docs = await groups.create(self._store, [validate(CreateGroup, d) for d in items])
        out = [to_dto(CustomerGroupDTO, doc) for doc in docs]
        return out[0] if single else out

    async def retrieve_customer_group(
        self, group_id: str, config: Config = None
    ) -> CustomerGroupDTO:
        """One group; ``not_found`` when missing or soft-deleted."""
        cfg = parse_config(config, GROUP)
        return await queries.retrieve_group(self._store, group_id, cfg)

    async def list_customer_groups(
        self, filters: Filters = None, config: Config = None
    ) -> list[CustomerGroupDTO]:
        """Groups matching ``filters``."""
        items, _ = await self._list(GROUP, queries.list_groups, filters, config, count=False)
        return items

    async def list_and_count_customer_groups(
        self, filters: Filters = None, config: Config = None
    ) -> tuple[list[CustomerGroupDTO], int]:
        """A page of groups and the total number matching ``filters``."""
        items, total = await self._list(GROUP, queries.list_groups, filters, config, count=True)
        return items, total or 0

    async def _group_ids(
        self, selector: Ids | Mapping[str, object], *, with_deleted: bool = False
    ) -> list[str]:
        if is_selector(selector):
            where = compile_filters(selector, GROUP)
            return await queries.find_ids(
                self._store, self._store.groups, where, GROUP, with_deleted=with_deleted
            )
        return id_list(selector)

    @overload
    async def update_customer_groups(
        self, selector: str, data: Data, *, if_match: IfMatch = None
    ) -> CustomerGroupDTO: ...
    @overload
    async def update_customer_groups(
        self, selector: ManyIds | Mapping[str, object], data: Data, *, if_match: IfMatch = None
    ) -> list[CustomerGroupDTO]: ...
    async def update_customer_groups(
        self, selector: Ids | Mapping[str, object], data: Data, *, if_match: IfMatch = None
    ) -> CustomerGroupDTO | list[CustomerGroupDTO]:
        """Update groups by id (→ one), ids or selector (→ list); metadata is merged.
        ``if_match`` (one id only): the group's ETag the change is based on."""
        single_target(selector, if_match, "customer group")
        update = validate(UpdateGroup, data)
        ids = await self._group_ids(selector)
        if not ids:
            return []
        docs = await groups.update(self._store, ids, update, if_match=if_match)
        out = [to_dto(CustomerGroupDTO, doc) for doc in docs]
        return out[0] if isinstance(selector, str) else out

    async def delete_customer_groups(self, selector: Ids | Mapping[str, object]) -> None:
        """Hard-delete groups and their memberships (one transaction)."""
        await groups.hard_delete(self._store, await self._group_ids(selector, with_deleted=True))

    async def soft_delete_customer_groups(
        self, ids: Ids, config: Config = None, *, if_match: IfMatch = None
    ) -> None:
        """Soft-delete groups; members stop listing them until a restore. ``if_match`` (one
        id only): the ETag the deletion is based on."""
        single_target(ids, if_match, "customer group")
        await groups.soft_delete(self._store, id_list(ids), if_match=if_match)

    async def restore_customer_groups(self, ids: Ids, config: Config = None) -> None:
        """Restore soft-deleted groups."""
        await groups.restore(self._store, id_list(ids))

    # --- memberships -----------------------------------------------------------------------

    @overload
    async def add_customer_to_group(self, data: Data) -> CustomerGroupCustomerDTO: ...
    @overload
    async def add_customer_to_group(
        self, data: Sequence[Data]
    ) -> list[CustomerGroupCustomerDTO]: ...
    async def add_customer_to_group(
        self, data: Pairs
    ) -> CustomerGroupCustomerDTO | list[CustomerGroupCustomerDTO]:
        """Add memberships; an existing membership is returned, never duplicated."""
        items, single = one_or_many(data)
        pairs = [validate(GroupPair, d) for d in items]
        added = await groups.add_members(self._store, pairs)
        out = [to_dto(CustomerGroupCustomerDTO, m) for m in added]
        return out[0] if single else out

    async def remove_customer_from_group(self, data: Pairs) -> None:
        """Remove memberships; pairs that are not members are ignored."""
        items, _ = one_or_many(data)
        await groups.remove_members(self._store, [validate(GroupPair, d) for d in items])

    async def list_customer_group_customers(
        self, filters: Filters = None, config: Config = None
    ) -> list[CustomerGroupCustomerDTO]:
        """Memberships matching ``filters`` (``customer_id``, ``customer_group_id`` …)."""
        items, _ = await self._list(
            MEMBERSHIP, queries.list_memberships, filters, config, count=False
        )
        return items

    async def list_and_count_customer_group_customers(
        self, filters: Filters = None, config: Config = None
    ) -> tuple[list[CustomerGroupCustomerDTO], int]:
        """A page of memberships and the total number matching ``filters``."""
        items, total = await self._list(
            MEMBERSHIP, queries.list_memberships, filters, config, count=True
        )
        return items, total or 0
