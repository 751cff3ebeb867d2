"""``/admin/customer-groups``: list, create, retrieve, update, soft-delete, members."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint

from app.api import schemas as s
from app.api.listing import Page, list_page
from app.api.openapi import documented
from app.api.parsing import parse_body, parse_query
from app.api.preconditions import Tagged, if_match, tagged
from app.api.resources import answer, found, link_memberships
from app.api.serialize import GROUP, dump, select
from app.auth import created_by, require_admin
from app.entities import GROUP as GROUP_ENTITY
from app.errors import NotFound, quote, relationship_not_found
from app.webapp import get_service

bp = Blueprint("admin_groups", __name__, url_prefix="/admin/customer-groups")
bp.before_request(require_admin)

Body = dict[str, Any]


def _missing(group_id: str) -> NotFound:
    return NotFound(f"Customer group with id: {quote(group_id)} not found")


def _missing_on_update(group_id: str) -> NotFound:  # Medusa words this one differently
    return NotFound(f'Customer group with id "{quote(group_id)}" not found')


def _missing_on_link(group_id: str) -> NotFound:  # and this one
    return relationship_not_found("customer_group_id", group_id)


async def _ensure_group(group_id: str, missing: Callable[[str], NotFound] = _missing) -> None:
    """404 (``missing``) unless the group exists (a read of its id only)."""
    await found(
        get_service().retrieve_customer_group(group_id, {"select": ["id"]}), missing, group_id
    )


async def read_group(group_id: str, fields: str | None) -> Tagged:
    """``{customer_group}`` re-read with the relations ``fields`` asks for (404 when gone),
    and its ``ETag``."""
    selection = select(fields, GROUP)
    reading = get_service().retrieve_customer_group(
        group_id, {"relations": selection.relation_names}
    )
    group = await found(reading, _missing, group_id)
    return tagged({"customer_group": dump(group, selection)}, GROUP_ENTITY, group)


async def group_response(group_id: str, fields: str | None) -> Body:
    """``{customer_group}`` re-read with the relations ``fields`` asks for (404 when gone)."""
    body, _ = await read_group(group_id, fields)
    return body


@bp.get("")
@documented(
    summary="List customer groups", query=s.AdminGroupListQuery, response=s.GroupList, auth="admin"
)
async def list_groups() -> Page:
    """Groups matching the filters (``q`` searches the name)."""
    query = parse_query(s.AdminGroupListQuery)
    return await list_page(
        "customer_groups", query, GROUP, get_service().list_and_count_customer_groups
    )


@bp.post("")
@documented(
    summary="Create a customer group",
    query=s.FieldsQuery,
    body=s.AdminGroupCreateBody,
    response=s.GroupResponse,
    auth="admin",
    etag=True,
)
async def create_group() -> Tagged:
    """Create a group; a live group with the same name is 400 ``invalid_data``."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminGroupCreateBody)
    group = await get_service().create_customer_groups({**body.data(), "created_by": created_by()})
    reply = await answer("customer_group", group, query.fields, GROUP, group_response)
    return tagged(reply, GROUP_ENTITY, group)


@bp.get("/<group_id>")
@documented(
    summary="Retrieve a customer group",
    query=s.FieldsQuery,
    response=s.GroupResponse,
    auth="admin",
    etag=True,
)
async def retrieve_group(group_id: str) -> Tagged:
    """One group; ``fields=*customers`` adds its live members."""
    query = parse_query(s.FieldsQuery)
    return await read_group(group_id, query.fields)


@bp.post("/<group_id>")
@documented(
    summary="Update a customer group",
    query=s.FieldsQuery,
    body=s.AdminGroupUpdateBody,
    response=s.GroupResponse,
    auth="admin",
    etag=True,
    if_match=True,
)
async def update_group(group_id: str) -> Tagged:
    """Rename a group or change its metadata (merged)."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminGroupUpdateBody)
    updating = get_service().update_customer_groups(group_id, body.data(), if_match=if_match())
    group = await found(updating, _missing_on_update, group_id)
    reply = await answer("customer_group", group, query.fields, GROUP, group_response)
    return tagged(reply, GROUP_ENTITY, group)


@bp.delete("/<group_id>")
@documented(
    summary="Delete a customer group", response=s.DeleteResponse, auth="admin", if_match=True
)
async def delete_group(group_id: str) -> Body:
    """Soft-delete a group (members stop listing it); 404 for an unknown id."""
    await _ensure_group(group_id)
    await get_service().soft_delete_customer_groups([group_id], if_match=if_match())
    return {"id": group_id, "object": "customer_group", "deleted": True}


@bp.post("/<group_id>/customers")
@documented(
    summary="Add customers to the group and remove others",
    query=s.FieldsQuery,
    body=s.BatchLinkBody,
    response=s.GroupResponse,
    auth="admin",
)
async def link_customers(group_id: str) -> Body:
    """``add`` / ``remove`` are customer ids; adding a member twice is a no-op."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.BatchLinkBody)
    await _ensure_group(group_id, _missing_on_link)
    await link_memberships(body, lambda customer_id: (customer_id, group_id))
    return await group_response(group_id, query.fields)
