"""``/admin/customers/{id}/addresses``: a customer's addresses, managed by an admin.

Create, update and delete answer with the parent customer, as Medusa does; the ``ETag`` of a
create or update is the address's own (what its ``If-Match`` compares), not the customer's.
A default flag on create or update makes that address the customer's only default of its kind
(the service clears the others). Deletes are hard deletes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.api import resources
from app.api import schemas as s
from app.api.admin_customers import customer_response, ensure_customer
from app.api.listing import Page, list_page
from app.api.openapi import documented
from app.api.parsing import parse_body, parse_query
from app.api.preconditions import Tagged, if_match, tagged
from app.api.resources import owned_address
from app.api.serialize import ADMIN_ADDRESS, dump, select
from app.auth import require_admin
from app.dto import CustomerAddressDTO
from app.entities import ADDRESS
from app.service.etags import IfMatch, check_tag
from app.webapp import get_service

bp = Blueprint("admin_addresses", __name__, url_prefix="/admin/customers/<customer_id>/addresses")
bp.before_request(require_admin)


Body = dict[str, Any]


@bp.get("")
@documented(
    summary="List a customer's addresses",
    query=s.AddressQuery,
    response=s.AddressList,
    auth="admin",
)
async def list_addresses(customer_id: str) -> Page:
    """The addresses of one customer (``q`` searches the address text fields)."""
    query = parse_query(s.AddressQuery)
    list_and_count = get_service().list_and_count_customer_addresses
    return await list_page(
        "addresses", query, ADMIN_ADDRESS, list_and_count, customer_id=customer_id
    )


@bp.post("")
@documented(
    summary="Add an address to a customer",
    query=s.FieldsQuery,
    body=s.AdminAddressBody,
    response=s.CustomerResponse,
    auth="admin",
    etag=True,
)
async def create_address(customer_id: str) -> Tagged:
    """Create an address; answers with the parent customer (``fields`` apply to it) and the
    new address's ``ETag``."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminAddressBody)
    data = {**body.data(), "customer_id": customer_id}
    address = await get_service().create_customer_addresses(data)
    return tagged(await customer_response(customer_id, query.fields), ADDRESS, address)


@bp.get("/<address_id>")
@documented(
    summary="Retrieve an address of a customer",
    query=s.FieldsQuery,
    response=s.AddressResponse,
    auth="admin",
    etag=True,
)
async def retrieve_address(customer_id: str, address_id: str) -> Tagged:
    """One address of the customer; 404 when the customer has no such address."""
    query = parse_query(s.FieldsQuery)
    address = await owned_address(customer_id, address_id)
    return tagged({"address": dump(address, select(query.fields, ADMIN_ADDRESS))}, ADDRESS, address)


@bp.post("/<address_id>")
@documented(
    summary="Update an address of a customer",
    query=s.FieldsQuery,
    body=s.AdminAddressBody,
    response=s.CustomerResponse,
    auth="admin",
    etag=True,
    if_match=True,
)
async def update_address(customer_id: str, address_id: str) -> Body | Tagged:
    """Update an address; answers with the parent customer and the address's ``ETag``."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminAddressBody)
    await ensure_customer(customer_id)
    address = await _change_address(customer_id, address_id, body.data(), if_match())
    reply = await customer_response(customer_id, query.fields)
    return reply if address is None else tagged(reply, ADDRESS, address)


async def _change_address(
    customer_id: str, address_id: str, data: Body, expected: IfMatch
) -> CustomerAddressDTO | None:
    """The customer's address after the change; ``None`` when it has no such address, which
    (without ``If-Match``, as Medusa does) is no error: the customer is answered as it is."""
    service = get_service()
    if expected is not None:  # 404 for someone else's address, then the conditional write
        current = await owned_address(customer_id, address_id)
        if not data:
            check_tag(ADDRESS, current, expected)
            return current
        return await service.update_customer_addresses(address_id, data, if_match=expected)
    mine = {"id": address_id, "customer_id": customer_id}
    if not data:
        found = await service.list_customer_addresses(mine, {"take": 1})
        return found[0] if found else None
    changed = await service.update_customer_addresses(mine, data)
    return changed[0] if changed else None


@bp.delete("/<address_id>")
@documented(
    summary="Delete an address of a customer",
    query=s.FieldsQuery,
    response=s.DeleteResponse,
    auth="admin",
    if_match=True,
)
async def delete_address(customer_id: str, address_id: str) -> Body:
    """Hard-delete an address; ``parent`` is the customer afterwards."""
    query = parse_query(s.FieldsQuery)
    return await resources.delete_address(
        customer_id,
        address_id,
        kind="customer_address",
        parent=lambda: customer_response(customer_id, query.fields),
        if_match=if_match(),
    )
