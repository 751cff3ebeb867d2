"""``/admin/customers``: list, create, read, update, soft-delete, restore, group links."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.api import schemas as s
from app.api.listing import Page, list_page
from app.api.openapi import documented
from app.api.parsing import parse_body, parse_query
from app.api.preconditions import Tagged, if_match, tagged
from app.api.resources import answer, found, link_memberships
from app.api.serialize import ADMIN_CUSTOMER, dump, select
from app.api.server_timing import measure
from app.auth import created_by, require_admin
from app.entities import CUSTOMER
from app.errors import NotFound, quote
from app.timing import step
from app.webapp import get_service

bp = Blueprint("admin_customers", __name__, url_prefix="/admin/customers")
measure(bp, require_admin)  # authenticates, and sends Server-Timing

Body = dict[str, Any]


def _missing(customer_id: str) -> NotFound:
    return NotFound(f"Customer with id: {quote(customer_id)} not found")


def _missing_on_update(customer_id: str) -> NotFound:  # Medusa words this one differently
    return NotFound(f'Customer with id "{quote(customer_id)}" not found')


async def ensure_customer(customer_id: str) -> None:
    """404 unless the customer exists (a read of its id only)."""
    await found(
        get_service().retrieve_customer(customer_id, {"select": ["id"]}), _missing, customer_id
    )


async def read_customer(customer_id: str, fields: str | None) -> Tagged:
    """``{customer}`` re-read with the relations ``fields`` asks for (404 when gone), and its
    ``ETag``."""
    selection = select(fields, ADMIN_CUSTOMER)
    reading = get_service().retrieve_customer(customer_id, {"relations": selection.relation_names})
    customer = await found(reading, _missing, customer_id)
    return tagged({"customer": dump(customer, selection)}, CUSTOMER, customer)


async def customer_response(customer_id: str, fields: str | None) -> Body:
    """``{customer}`` re-read with the relations ``fields`` asks for (404 when gone)."""
    body, _ = await read_customer(customer_id, fields)
    return body


@bp.get("")
@documented(
    summary="List customers", query=s.AdminCustomerListQuery, response=s.CustomerList, auth="admin"
)
async def list_customers() -> Page:
    """Customers matching the filters, id ascending unless ``order`` says otherwise."""
    with step("parse"):
        query = parse_query(s.AdminCustomerListQuery)
    return await list_page(
        "customers", query, ADMIN_CUSTOMER, get_service().list_and_count_customers
    )


@bp.post("")
@documented(
    summary="Create a customer",
    query=s.FieldsQuery,
    body=s.AdminCustomerBody,
    response=s.CustomerResponse,
    auth="admin",
    etag=True,
)
async def create_customer() -> Tagged:
    """Create a guest customer (``has_account`` false); ``created_by`` is the caller."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminCustomerBody)
    customer = await get_service().create_customers({**body.data(), "created_by": created_by()})
    reply = await answer("customer", customer, query.fields, ADMIN_CUSTOMER, customer_response)
    return tagged(reply, CUSTOMER, customer)


@bp.get("/<customer_id>")
@documented(
    summary="Retrieve a customer",
    query=s.FieldsQuery,
    response=s.CustomerResponse,
    auth="admin",
    etag=True,
)
async def retrieve_customer(customer_id: str) -> Tagged:
    """One customer; 404 when it does not exist or is deleted."""
    query = parse_query(s.FieldsQuery)
    return await read_customer(customer_id, query.fields)


@bp.post("/<customer_id>")
@documented(
    summary="Update a customer",
    query=s.FieldsQuery,
    body=s.AdminCustomerBody,
    response=s.CustomerResponse,
    auth="admin",
    etag=True,
    if_match=True,
)
async def update_customer(customer_id: str) -> Tagged:
    """Update a customer; ``metadata`` is merged (``""`` removes a key)."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminCustomerBody)
    updating = get_service().update_customers(customer_id, body.data(), if_match=if_match())
    customer = await found(updating, _missing_on_update, customer_id)
    reply = await answer("customer", customer, query.fields, ADMIN_CUSTOMER, customer_response)
    return tagged(reply, CUSTOMER, customer)


@bp.delete("/<customer_id>")
@documented(summary="Delete a customer", response=s.DeleteResponse, auth="admin", if_match=True)
async def delete_customer(customer_id: str) -> Body:
    """Soft-delete a customer and its addresses; 404 for an unknown id."""
    await ensure_customer(customer_id)
    await get_service().soft_delete_customers([customer_id], if_match=if_match())
    return {"id": customer_id, "object": "customer", "deleted": True}


@bp.post("/<customer_id>/restore")
@documented(
    summary="Restore a deleted customer (an extension: Medusa has no restore route)",
    query=s.FieldsQuery,
    response=s.CustomerResponse,
    auth="admin",
    etag=True,
)
async def restore_customer(customer_id: str) -> Tagged:
    """Bring back a soft-deleted customer and the addresses its delete took along; a live
    customer is answered as it is, an unknown id is 404 (the re-read finds nothing)."""
    query = parse_query(s.FieldsQuery)
    await get_service().restore_customers([customer_id])
    return await read_customer(customer_id, query.fields)


@bp.post("/<customer_id>/customer-groups")
@documented(
    summary="Add the customer to groups and remove it from others",
    query=s.FieldsQuery,
    body=s.BatchLinkBody,
    response=s.CustomerResponse,
    auth="admin",
)
async def link_groups(customer_id: str) -> Body:
    """``add`` / ``remove`` are group ids; an unknown group is 404."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.BatchLinkBody)
    await ensure_customer(customer_id)
    await link_memberships(body, lambda group_id: (customer_id, group_id))
    return await customer_response(customer_id, query.fields)
