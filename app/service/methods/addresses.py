"""The service's address methods: addresses live inside their customer's document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import overload

from app.dto import CustomerAddressDTO
from app.entities import ADDRESS
from app.input_checks import validate
from app.service import addresses, queries
from app.service.arguments import id_list, is_selector, one_or_many
from app.service.documents import to_dto
from app.service.etags import IfMatch, single_target
from app.service.findconfig import parse_config
from app.service.inputs import CreateAddress, UpdateAddress
from app.service.methods.base import Config, Data, Filters, Ids, ManyIds, ServiceBase

__all__ = ["AddressMethods"]


class AddressMethods(ServiceBase):
    """Addresses: create, retrieve, list, update, delete, restore."""

    @overload
    async def create_customer_addresses(self, data: Data) -> CustomerAddressDTO: ...
    @overload
    async def create_customer_addresses(self, data: Sequence[Data]) -> list[CustomerAddressDTO]: ...
    async def create_customer_addresses(
        self, data: Data | Sequence[Data]
    ) -> CustomerAddressDTO | list[CustomerAddressDTO]:
        """Create addresses; a new default clears the customer's previous one."""
        items, single = one_or_many(data)
        docs = await addresses.create(self._store, [validate(CreateAddress, d) for d in items])
        out = [to_dto(CustomerAddressDTO, doc) for doc in docs]
        return out[0] if single else out

    async def retrieve_customer_address(
        self, address_id: str, config: Config = None
    ) -> CustomerAddressDTO:
        """One address; ``not_found`` when missing or soft-deleted."""
        cfg = parse_config(config, ADDRESS)
        return await queries.retrieve_address(self._store, address_id, cfg)

    async def list_customer_addresses(
        self, filters: Filters = None, config: Config = None
    ) -> list[CustomerAddressDTO]:
        """Addresses matching ``filters``."""
        items, _ = await self._list(ADDRESS, queries.list_addresses, filters, config, count=False)
        return items

    async def list_and_count_customer_addresses(
        self, filters: Filters = None, config: Config = None
    ) -> tuple[list[CustomerAddressDTO], int]:
        """A page of addresses and the total number matching ``filters``."""
        items, total = await self._list(
            ADDRESS, queries.list_addresses, filters, config, count=True
        )
        return items, total or 0

    @overload
    async def update_customer_addresses(
        self, selector: str, data: Data, *, if_match: IfMatch = None
    ) -> CustomerAddressDTO: ...
    @overload
    async def update_customer_addresses(
        self, selector: ManyIds | Mapping[str, object], data: Data, *, if_match: IfMatch = None
    ) -> list[CustomerAddressDTO]: ...
    async def update_customer_addresses(
        self, selector: Ids | Mapping[str, object], data: Data, *, if_match: IfMatch = None
    ) -> CustomerAddressDTO | list[CustomerAddressDTO]:
        """Update addresses by id (→ one), ids or selector (→ list). ``if_match`` (one id
        only): the address's ETag the change is based on (``precondition_failed`` if it
        changed meanwhile; nothing is written)."""
        single_target(selector, if_match, "address")
        update = validate(UpdateAddress, data)
        target = selector if is_selector(selector) else id_list(selector)
        pairs = await addresses.resolve(self._store, target)
        if not pairs:
            return []
        docs = await addresses.update(self._store, pairs, update, if_match=if_match)
        out = [to_dto(CustomerAddressDTO, doc) for doc in docs]
        return out[0] if isinstance(selector, str) else out

    async def _address_ids(self, selector: Ids | Mapping[str, object]) -> list[str]:
        if is_selector(selector):
            pairs = await addresses.resolve(self._store, selector, with_deleted=True)
            return [address_id for _, address_id in pairs]
        return id_list(selector)

    async def delete_customer_addresses(
        self, selector: Ids | Mapping[str, object], *, if_match: IfMatch = None
    ) -> None:
        """Hard-delete addresses; ``if_match`` (one id only): the ETag the deletion is based
        on."""
        single_target(selector, if_match, "address")
        ids = await self._address_ids(selector)
        await addresses.hard_delete(self._store, ids, if_match=if_match)

    async def soft_delete_customer_addresses(self, ids: Ids, config: Config = None) -> None:
        """Soft-delete addresses."""
        await addresses.soft_delete(self._store, id_list(ids))

    async def restore_customer_addresses(self, ids: Ids, config: Config = None) -> None:
        """Restore soft-deleted addresses."""
        await addresses.restore(self._store, id_list(ids))
