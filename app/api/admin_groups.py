"""``/admin/customer-groups``: list, create, retrieve, update, soft-delete, members."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.api import schemas as s
from app.api.common import filters_of, list_config, page
from app.api.openapi import documented
from app.api.serialize import GROUP, dump, dump_many, select
from app.api.validation import parse_body, parse_query
from app.auth import created_by, require_admin
from app.errors import NotFound, quote, relationship_not_found
from app.runtime import get_service

bp = Blueprint("admin_groups", __name__, url_prefix="/admin/customer-groups")
bp.before_request(require_admin)


async def group_response(group_id: str, fields: str | None) -> dict[str, Any]:
    """``{customer_group}`` re-read with the relations ``fields`` asks for (404 when gone)."""
    selection = select(fields, GROUP)
    try:
        group = await get_service().retrieve_customer_group(
            group_id, {"relations": selection.relation_names}
        )
    except NotFound:
        raise NotFound(f"Customer group with id: {quote(group_id)} not found") from None
    return {"customer_group": dump(group, selection)}


@bp.get("")
@documented(
    summary="List customer groups", query=s.AdminGroupListQuery, response=s.GroupList, auth="admin"
)
async def list_groups():
    """Groups matching the filters (``q`` searches the name)."""
    query = parse_query(s.AdminGroupListQuery)
    selection = select(query.fields, GROUP)
    groups, count = await get_service().list_and_count_customer_groups(
        filters_of(query), list_config(query, selection)
    )
    return page("customer_groups", dump_many(groups, selection), count, query)


@bp.post("")
@documented(
    summary="Create a customer group",
    query=s.FieldsQuery,
    body=s.AdminGroupCreateBody,
    response=s.GroupResponse,
    auth="admin",
)
async def create_group():
    """Create a group; a live group with the same name is 400 ``invalid_data``."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminGroupCreateBody)
    group = await get_service().create_customer_groups({**body.data(), "created_by": created_by()})
    selection = select(query.fields, GROUP)
    if selection.relations:
        return await group_response(group.id, query.fields)
    return {"customer_group": dump(group, selection)}


@bp.get("/<group_id>")
@documented(
    summary="Retrieve a customer group", query=s.FieldsQuery, response=s.GroupResponse, auth="admin"
)
async def retrieve_group(group_id: str):
    """One group; ``fields=*customers`` adds its live members."""
    query = parse_query(s.FieldsQuery)
    return await group_response(group_id, query.fields)


@bp.post("/<group_id>")
@documented(
    summary="Update a customer group",
    query=s.FieldsQuery,
    body=s.AdminGroupUpdateBody,
    response=s.GroupResponse,
    auth="admin",
)
async def update_group(group_id: str):
    """Rename a group or change its metadata (merged)."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.AdminGroupUpdateBody)
    try:
        group = await get_service().update_customer_groups(group_id, body.data())
    except NotFound:
        raise NotFound(f'Customer group with id "{quote(group_id)}" not found') from None
    selection = select(query.fields, GROUP)
    if selection.relations:
        return await group_response(group_id, query.fields)
    return {"customer_group": dump(group, selection)}


@bp.delete("/<group_id>")
@documented(summary="Delete a customer group", response=s.DeleteResponse, auth="admin")
async def delete_group(group_id: str):
    """Soft-delete a group (members stop listing it); 404 for an unknown id."""
    service = get_service()
    try:
        await service.retrieve_customer_group(group_id, {"select": ["id"]})
    except NotFound:
        raise NotFound(f"Customer group with id: {quote(group_id)} not found") from None
    await service.soft_delete_customer_groups([group_id])
    return {"id": group_id, "object": "customer_group", "deleted": True}


@bp.post("/<group_id>/customers")
@documented(
    summary="Add customers to the group and remove others",
    query=s.FieldsQuery,
    body=s.BatchLinkBody,
    response=s.GroupResponse,
    auth="admin",
)
async def link_customers(group_id: str):
    """``add`` / ``remove`` are customer ids; adding a member twice is a no-op."""
    query = parse_query(s.FieldsQuery)
    body = parse_body(s.BatchLinkBody)
    service = get_service()
    try:
        await service.retrieve_customer_group(group_id, {"select": ["id"]})
    except NotFound:
        raise relationship_not_found("customer_group_id", group_id) from None
    who = created_by()
    if body.add:
        await service.add_customer_to_group(
            [
                {"customer_id": customer_id, "customer_group_id": group_id, "created_by": who}
                for customer_id in body.add
            ]
        )
    if body.remove:
        await service.remove_customer_from_group(
            [
                {"customer_id": customer_id, "customer_group_id": group_id}
                for customer_id in body.remove
            ]
        )
    return await group_response(group_id, query.fields)
