"""``/admin/customers/{id}/addresses``: a customer's addresses, managed by an admin.

Create, update and delete answer with the parent customer, as Medusa does. A default flag on
create or update makes that address the customer's only default of its kind (the service
clears the others). Deletes are hard deletes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.api import resources
from app.api import schemas as s
from app.api.admin_customers import customer_response, ensure_customer
from app.api.listing import list_page
from app.api.openapi import documented
from app.api.parsing import parse_body, parse_query
from app.api.resources import owned_address
from app.api.serialize import ADMIN_ADDRESS, dump, select
from app.auth import require_admin
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
async def list_addresses(customer_id: str) -> Body:
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
)
async def create_address(customer_id: str) -> Body:
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
async def retrieve_address(customer_id: str, address_id: str) -> Body:
    """One address of the customer; 404 when the customer has no such address."""
    query = parse_query(s.FieldsQuery)
    address = await owned_address(customer_id, address_id)
    return {"address": dump(address, select(query.fields, ADMIN_ADDRESS))}


@bp.post("/<address_id>")
@documented(
    summary="Update an address of a customer",
    query=s.FieldsQuery,
    body=s.AdminAddressBody,
    response=s.CustomerResponse,
    auth="admin",
)
async def update_address(customer_id: str, address_id: str) -> Body:
    """Update an address; answers with the parent customer."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminAddressBody)
    await ensure_customer(customer_id)
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
async def delete_address(customer_id: str, address_id: str) -> Body:
    """Hard-delete an address; ``parent`` is the customer afterwards."""
    query = parse_query(s.FieldsQuery)
    return await resources.delete_address(
        customer_id,
        address_id,
        kind="customer_address",
        parent=lambda: customer_response(customer_id, query.fields),
    )
