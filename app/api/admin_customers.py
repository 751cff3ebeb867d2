"""``/admin/customers``: list, create, retrieve, update, soft-delete, group membership."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.api import schemas as s
from app.api.common import filters_of, list_config, page
from app.api.openapi import documented
from app.api.serialize import ADMIN_CUSTOMER, dump, dump_many, select
from app.api.validation import parse_body, parse_query
from app.auth import created_by, require_admin
from app.errors import NotFound, quote
from app.runtime import get_service

bp = Blueprint("admin_customers", __name__, url_prefix="/admin/customers")
bp.before_request(require_admin)


async def customer_response(customer_id: str, fields: str | None) -> dict[str, Any]:
    """``{customer}`` re-read with the relations ``fields`` asks for (404 when gone)."""
    selection = select(fields, ADMIN_CUSTOMER)
    try:
        customer = await get_service().retrieve_customer(
            customer_id, {"relations": selection.relation_names}
        )
    except NotFound:
        raise NotFound(f"Customer with id: {quote(customer_id)} not found") from None
    return {"customer": dump(customer, selection)}


@bp.get("")
@documented(
    summary="List customers", query=s.AdminCustomerListQuery, response=s.CustomerList, auth="admin"
)
async def list_customers():
    """Customers matching the filters, id ascending unless ``order`` says otherwise."""
    query = parse_query(s.AdminCustomerListQuery)
    selection = select(query.fields, ADMIN_CUSTOMER)
    customers, count = await get_service().list_and_count_customers(
        filters_of(query), list_config(query, selection)
    )
    return page("customers", dump_many(customers, selection), count, query)


@bp.post("")
@documented(
    summary="Create a customer",
    query=s.FieldsQuery,
    body=s.AdminCustomerBody,
    response=s.CustomerResponse,
    auth="admin",
)
async def create_customer():
    """Create a guest customer (``has_account`` false); ``created_by`` is the caller."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminCustomerBody)
    data = {**body.data(), "created_by": created_by()}
    customer = await get_service().create_customers(data)
    selection = select(query.fields, ADMIN_CUSTOMER)
    if selection.relations:
        return await customer_response(customer.id, query.fields)
    return {"customer": dump(customer, selection)}


@bp.get("/<customer_id>")
@documented(
    summary="Retrieve a customer", query=s.FieldsQuery, response=s.CustomerResponse, auth="admin"
)
async def retrieve_customer(customer_id: str):
    """One customer; 404 when it does not exist or is deleted."""
    query = parse_query(s.FieldsQuery)
    return await customer_response(customer_id, query.fields)


@bp.post("/<customer_id>")
@documented(
    summary="Update a customer",
    query=s.FieldsQuery,
    body=s.AdminCustomerBody,
    response=s.CustomerResponse,
    auth="admin",
)
async def update_customer(customer_id: str):
    """Update a customer; ``metadata`` is merged (``""`` removes a key)."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminCustomerBody)
    service = get_service()
    try:
        customer = await service.update_customers(customer_id, body.data())
    except NotFound:
        raise NotFound(f'Customer with id "{quote(customer_id)}" not found') from None
    selection = select(query.fields, ADMIN_CUSTOMER)
    if selection.relations:
        return await customer_response(customer_id, query.fields)
    return {"customer": dump(customer, selection)}


@bp.delete("/<customer_id>")
@documented(summary="Delete a customer", response=s.DeleteResponse, auth="admin")
async def delete_customer(customer_id: str):
    """Soft-delete a customer and its addresses; 404 for an unknown id."""
    service = get_service()
    try:
        await service.retrieve_customer(customer_id, {"select": ["id"]})
    except NotFound:
        raise NotFound(f"Customer with id: {quote(customer_id)} not found") from None
    await service.soft_delete_customers([customer_id])
    return {"id": customer_id, "object": "customer", "deleted": True}


@bp.post("/<customer_id>/customer-groups")
@documented(
    summary="Add the customer to groups and remove it from others",
    query=s.FieldsQuery,
    body=s.BatchLinkBody,
    response=s.CustomerResponse,
    auth="admin",
)
async def link_groups(customer_id: str):
    """``add`` / ``remove`` are group ids; an unknown group is 404."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.BatchLinkBody)
    service = get_service()
    try:
        await service.retrieve_customer(customer_id, {"select": ["id"]})
    except NotFound:
        raise NotFound(f"Customer with id: {quote(customer_id)} not found") from None
    who = created_by()
    if body.add:
        await service.add_customer_to_group(
            [
                {"customer_id": customer_id, "customer_group_id": group_id, "created_by": who}
                for group_id in body.add
            ]
        )
    if body.remove:
        await service.remove_customer_from_group(
            [
                {"customer_id": customer_id, "customer_group_id": group_id}
                for group_id in body.remove
            ]
        )
    return await customer_response(customer_id, query.fields)
