"""``/admin/customers/{id}/addresses``: a customer's addresses, managed by an admin.

Create, update and delete answer with the parent customer, as Medusa does. A default flag on
create or update makes that address the customer's only default of its kind (the service
clears the others). Deletes are hard deletes.
"""

from __future__ import annotations

from flask import Blueprint

from app.api import schemas as s
from app.api.admin_customers import customer_response
from app.api.common import filters_of, list_config, page
from app.api.openapi import documented
from app.api.serialize import ADMIN_ADDRESS, dump, dump_many, select
from app.api.validation import parse_body, parse_query
from app.auth import require_admin
from app.errors import NotFound, address_not_found, quote
from app.runtime import get_service

bp = Blueprint("admin_addresses", __name__, url_prefix="/admin/customers/<customer_id>/addresses")
bp.before_request(require_admin)


async def _require_customer(customer_id: str) -> None:
    try:
        await get_service().retrieve_customer(customer_id, {"select": ["id"]})
    except NotFound:
        raise NotFound(f"Customer with id: {quote(customer_id)} not found") from None


async def _owned_address(customer_id: str, address_id: str):
    found = await get_service().list_customer_addresses(
        {"id": address_id, "customer_id": customer_id}, {"take": 1}
    )
    if not found:
        raise address_not_found(address_id)
    return found[0]


@bp.get("")
@documented(
    summary="List a customer's addresses",
    query=s.AddressQuery,
    response=s.AddressList,
    auth="admin",
)
async def list_addresses(customer_id: str):
    """The addresses of one customer (``q`` searches the address text fields)."""
    query = parse_query(s.AddressQuery)
    selection = select(query.fields, ADMIN_ADDRESS)
    filters = {**filters_of(query), "customer_id": customer_id}
    addresses, count = await get_service().list_and_count_customer_addresses(
        filters, list_config(query, selection)
    )
    return page("addresses", dump_many(addresses, selection), count, query)


@bp.post("")
@documented(
    summary="Add an address to a customer",
    query=s.FieldsQuery,
    body=s.AdminAddressBody,
    response=s.CustomerResponse,
    auth="admin",
)
async def create_address(customer_id: str):
    """Create an address; answers with the parent customer (``fields`` apply to it)."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminAddressBody)
    await get_service().create_customer_addresses({**body.data(), "customer_id": customer_id})
    return await customer_response(customer_id, query.fields)


@bp.get("/<address_id>")
@documented(
    summary="Retrieve an address of a customer",
    query=s.FieldsQuery,
    response=s.AddressResponse,
    auth="admin",
)
async def retrieve_address(customer_id: str, address_id: str):
    """One address of the customer; 404 when the customer has no such address."""
    query = parse_query(s.FieldsQuery)
    address = await _owned_address(customer_id, address_id)
    return {"address": dump(address, select(query.fields, ADMIN_ADDRESS))}


@bp.post("/<address_id>")
@documented(
    summary="Update an address of a customer",
    query=s.FieldsQuery,
    body=s.AdminAddressBody,
    response=s.CustomerResponse,
    auth="admin",
)
async def update_address(customer_id: str, address_id: str):
    """Update an address; answers with the parent customer."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminAddressBody)
    await _require_customer(customer_id)
    data = body.data()
    if data:
        await get_service().update_customer_addresses(
            {"id": address_id, "customer_id": customer_id}, data
        )
    return await customer_response(customer_id, query.fields)


@bp.delete("/<address_id>")
@documented(
    summary="Delete an address of a customer",
    query=s.FieldsQuery,
    response=s.DeleteResponse,
    auth="admin",
)
async def delete_address(customer_id: str, address_id: str):
    """Hard-delete an address; ``parent`` is the customer afterwards."""
    query = parse_query(s.FieldsQuery)
    await _owned_address(customer_id, address_id)
    await get_service().delete_customer_addresses([address_id])
    parent = await customer_response(customer_id, query.fields)
    return {
        "id": address_id,
        "object": "customer_address",
        "deleted": True,
        "parent": parent["customer"],
    }
