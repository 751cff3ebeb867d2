"""Steps the resource views share, so that each view reads: parse, call the service, answer.

- :func:`found`: a service call whose ``not_found`` becomes the route's own 404 message;
- :func:`answer`: ``{key: item}`` shaped by ``fields``, re-read when they ask for relations;
- :func:`link_memberships`: the ``add`` / ``remove`` batch of a membership route;
- :func:`owned_address` / :func:`delete_address`: a customer's address, 404 for anyone else's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.api.fields import Shape, select
from app.api.schemas import BatchLinkBody
from app.api.serialize import dump
from app.auth import created_by
from app.dto import CustomerAddressDTO, CustomerDTO, CustomerGroupDTO
from app.errors import CustomerModuleError, NotFound, address_not_found
from app.service.etags import IfMatch
from app.webapp import get_service

__all__ = ["answer", "delete_address", "found", "link_memberships", "owned_address"]

T = TypeVar("T")
Body = dict[str, Any]
Reread = Callable[[str, str | None], Awaitable[Body]]  # (id, fields) → the response body


async def found(
    call: Awaitable[T], missing: Callable[[str], CustomerModuleError], entity_id: str
) -> T:
    """The result of ``call``; ``missing(entity_id)`` (the route's own 404 message) instead of
    the service's ``not_found``."""
    try:
        return await call
    except NotFound:
        raise missing(entity_id) from None


async def answer(
    key: str,
    item: CustomerDTO | CustomerGroupDTO,
    fields: str | None,
    shape: Shape,
    reread: Reread,
) -> Body:
    """``{key: item}`` as ``fields`` select it; read again (``reread``) if they ask for
    relations, which a write's result does not carry."""
    selection = select(fields, shape)
    if selection.relations:
        assert item.id is not None  # a write's result always carries its id
        return await reread(item.id, fields)
    return {key: dump(item, selection)}


async def link_memberships(body: BatchLinkBody, pair: Callable[[str], tuple[str, str]]) -> None:
    """Add and remove the memberships ``body`` lists; ``pair(id)`` → (customer id, group id)."""
    service = get_service()
    if body.add:
        who = created_by()
        await service.add_customer_to_group(
            [
                {"customer_id": customer_id, "customer_group_id": group_id, "created_by": who}
                for customer_id, group_id in map(pair, body.add)
            ]
        )
    if body.remove:
        await service.remove_customer_from_group(
            [
                {"customer_id": customer_id, "customer_group_id": group_id}
                for customer_id, group_id in map(pair, body.remove)
            ]
        )


async def owned_address(customer_id: str, address_id: str) -> CustomerAddressDTO:
    """The customer's address ``address_id``; 404 when it has none of that id."""
    found = await get_service().list_customer_addresses(
        {"id": address_id, "customer_id": customer_id}, {"take": 1}
    )
    if not found:
        raise address_not_found(address_id)
    address: CustomerAddressDTO = found[0]
    return address


async def delete_address(
    customer_id: str,
    address_id: str,
    *,
    kind: str,
    parent: Callable[[], Awaitable[Body]],
    if_match: IfMatch = None,
) -> Body:
    """Hard-delete the customer's address (if its ETag still matches ``if_match``); answer
    ``{id, object: kind, deleted, parent}`` with the customer as ``parent()`` reads it
    afterwards."""
    await owned_address(customer_id, address_id)
    await get_service().delete_customer_addresses([address_id], if_match=if_match)
    customer = (await parent())["customer"]
    return {"id": address_id, "object": kind, "deleted": True, "parent": customer}
