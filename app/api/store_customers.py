"""``/store/customers``: registration, and the caller's own customer and addresses.

Every route needs a customer JWT; only registration accepts a token not yet linked to a
customer (``actor_id == ""``), and counts against the client's registration limit. An auth
identity registers one customer (the service keeps the link). A customer never sees another
customer's data: someone else's address is 404, exactly as a missing one. A token naming a
customer that was merged into another acts as that other (the survivor).
``x-publishable-api-key`` is accepted and ignored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from app.api import resources
from app.api import schemas as s
from app.api.listing import Page, list_page
from app.api.openapi import documented
from app.api.parsing import parse_body, parse_query
from app.api.resources import owned_address
from app.api.serialize import STORE_ADDRESS, STORE_CUSTOMER, dump, select
from app.auth import act_as, current_actor, require_customer
from app.dto import CustomerAddressDTO
from app.errors import InvalidData
from app.ratelimit import count_registration
from app.webapp import get_service

bp = Blueprint("store_customers", __name__, url_prefix="/store/customers")

Body = dict[str, Any]

_REGISTER = "store_customers.register"


@bp.before_request
def _authenticate() -> None:
    registering = request.endpoint == _REGISTER
    if registering and request.method == "POST":
        count_registration()  # every attempt, before the token is even read
    require_customer(allow_unregistered=registering)


@bp.before_request
async def _as_survivor() -> None:
    """A token naming a customer merged into another acts as the survivor (following
    ``merged_into``), so signing in keeps working after a merge."""
    actor = current_actor()
    if actor.actor_type == "customer" and actor.actor_id:
        survivor = await get_service().resolve_merged_customer(actor.actor_id)
        if survivor != actor.actor_id:
            act_as(survivor)


async def me_response(fields: str | None) -> Body:
    """``{customer}``: the caller, with its addresses unless ``fields`` says otherwise."""
    selection = select(fields, STORE_CUSTOMER)
    customer = await get_service().retrieve_customer(
        current_actor().actor_id, {"relations": selection.relation_names}
    )
    return {"customer": dump(customer, selection)}


async def _my_address(address_id: str) -> CustomerAddressDTO:
    return await owned_address(current_actor().actor_id, address_id)


@bp.post("")
@documented(
    summary="Register a customer",
    query=s.FieldsQuery,
    body=s.StoreCustomerCreateBody,
    response=s.CustomerResponse,
    auth="store",
    responses={422: "This email already has an account (`duplicate_error`)"},
)
async def register() -> Body:
    """Create the caller's customer (``has_account`` true) from a registration token."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.StoreCustomerCreateBody)
    actor = current_actor()
    if actor.actor_id:
        raise InvalidData("Request already authenticated as a customer.")
    customer = await get_service().create_customer_account(body.data(), actor.auth_identity_id)
    selection = select(query.fields, STORE_CUSTOMER)
    return {"customer": dump(customer, selection)}


@bp.get("/me")
@documented(
    summary="Retrieve the caller", query=s.FieldsQuery, response=s.CustomerResponse, auth="store"
)
async def retrieve_me() -> Body:
    """The caller's customer, with its addresses."""
    query = parse_query(s.FieldsQuery)
    return await me_response(query.fields)


@bp.post("/me")
@documented(
    summary="Update the caller",
    query=s.FieldsQuery,
    body=s.StoreCustomerUpdateBody,
    response=s.CustomerResponse,
    auth="store",
)
async def update_me() -> Body:
    """Update the caller's names, phone or metadata (the email cannot change here)."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.StoreCustomerUpdateBody)
    data = body.data()
    if data:
        await get_service().update_customers(current_actor().actor_id, data)
    return await me_response(query.fields)


@bp.get("/me/addresses")
@documented(
    summary="List the caller's addresses",
    query=s.StoreAddressListQuery,
    response=s.AddressList,
    auth="store",
)
async def list_my_addresses() -> Page:
    """The caller's addresses only."""
    query = parse_query(s.StoreAddressListQuery)
    list_and_count = get_service().list_and_count_customer_addresses
    me = current_actor().actor_id
    return await list_page("addresses", query, STORE_ADDRESS, list_and_count, customer_id=me)


@bp.post("/me/addresses")
@documented(
    summary="Add an address",
    query=s.FieldsQuery,
    body=s.StoreAddressBody,
    response=s.CustomerResponse,
    auth="store",
)
async def create_my_address() -> Body:
    """Add an address to the caller; answers with the caller."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.StoreAddressBody)
    await get_service().create_customer_addresses(
        {**body.data(), "customer_id": current_actor().actor_id}
    )
    return await me_response(query.fields)


@bp.get("/me/addresses/<address_id>")
@documented(
    summary="Retrieve one of the caller's addresses",
    query=s.FieldsQuery,
    response=s.AddressResponse,
    auth="store",
)
async def retrieve_my_address(address_id: str) -> Body:
    """One of the caller's addresses; 404 for anyone else's."""
    query = parse_query(s.FieldsQuery)
    address = await _my_address(address_id)
    return {"address": dump(address, select(query.fields, STORE_ADDRESS))}


@bp.post("/me/addresses/<address_id>")
@documented(
    summary="Update one of the caller's addresses",
    query=s.FieldsQuery,
    body=s.StoreAddressBody,
    response=s.CustomerResponse,
    auth="store",
)
async def update_my_address(address_id: str) -> Body:
    """Update one of the caller's addresses; answers with the caller."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.StoreAddressBody)
    await _my_address(address_id)
    data = body.data()
    if data:
        await get_service().update_customer_addresses(
            {"id": address_id, "customer_id": current_actor().actor_id}, data
        )
    return await me_response(query.fields)


@bp.delete("/me/addresses/<address_id>")
@documented(
    summary="Delete one of the caller's addresses",
    query=s.FieldsQuery,
    response=s.DeleteResponse,
    auth="store",
)
async def delete_my_address(address_id: str) -> Body:
    """Hard-delete one of the caller's addresses; ``parent`` is the caller afterwards."""
    query = parse_query(s.FieldsQuery)
    return await resources.delete_address(
        current_actor().actor_id,
        address_id,
        kind="address",
        parent=lambda: me_response(query.fields),
    )
