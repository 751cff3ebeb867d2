"""``/admin/customers/{id}/merge`` and ``…/merge/preview``: merge customers into one (our
extension; Medusa has no merge). The rules are the service's
(:mod:`app.service.survivorship`); the merge is one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint

from app.api import schemas as s
from app.api.openapi import documented
from app.api.parsing import parse_body, parse_query
from app.api.preconditions import Tagged, if_match, tagged
from app.api.schemas.merging import MergeBody, MergeResponse
from app.api.serialize import ADMIN_CUSTOMER, dump, select
from app.auth import created_by, require_admin
from app.entities import CUSTOMER
from app.service.methods.merging import MergeResult
from app.webapp import get_service

bp = Blueprint("admin_merge", __name__, url_prefix="/admin/customers")
bp.before_request(require_admin)

Body = dict[str, Any]

WITH_RELATIONS = "*addresses,*groups"  # the merged customer's default shape here


@dataclass(frozen=True)
class _Request:
    """A merge request as both routes read it."""

    fields: str | None
    customer_ids: list[str]
    keep: dict[str, Any] | None


def _request() -> _Request:
    query = parse_query(s.FieldsQuery)
    body = parse_body(MergeBody)
    keep = body.keep.model_dump(exclude_none=True) if body.keep is not None else None
    return _Request(query.fields, body.customer_ids, keep)


def _answer(result: MergeResult, fields: str | None) -> Body:
    """The report, with the customer as ``fields`` select it (its addresses and groups by
    default: they are what a merge moves)."""
    selection = select(fields if fields is not None else WITH_RELATIONS, ADMIN_CUSTOMER)
    report = result.model_dump(mode="json", exclude={"customer"})
    return {"customer": dump(result.customer, selection), **report}


@bp.post("/<customer_id>/merge/preview")
@documented(
    summary="Preview a merge of customers into this one (an extension)",
    query=s.FieldsQuery,
    body=MergeBody,
    response=MergeResponse,
    auth="admin",
)
async def preview_merge(customer_id: str) -> Body:
    """What ``POST …/merge`` with the same body would do now: the resulting customer, the
    conflicts and which value wins, where each address and membership goes. Writes nothing."""
    asked = _request()
    result = await get_service().preview_customer_merge(customer_id, asked.customer_ids, asked.keep)
    return _answer(result, asked.fields)


@bp.post("/<customer_id>/merge")
@documented(
    summary="Merge customers into this one (an extension)",
    query=s.FieldsQuery,
    body=MergeBody,
    response=MergeResponse,
    auth="admin",
    etag=True,
    if_match=True,
)
async def merge(customer_id: str) -> Tagged:
    """Merge ``customer_ids`` into this customer in one transaction: they are soft-deleted
    with ``merged_into`` this one, their addresses, memberships and sign-ins move here. A
    retry answers ``already_merged``; a concurrent merge over the same customers gets 409 or
    400 (a customer is deleted by then)."""
    asked = _request()
    result = await get_service().merge_customers(
        customer_id, asked.customer_ids, asked.keep, by=created_by(), if_match=if_match()
    )
    return tagged(_answer(result, asked.fields), CUSTOMER, result.customer)
