"""``/admin/customers/{id}/data-export`` and ``/admin/customers/{id}/erase``: privacy requests.

The data export is a read, but of everything stored about a person in one answer (the
portability and access requests of privacy law), so it takes an ``admin`` key or a user token:
a ``read`` key (support staff browsing lists) gets 403. The erasure is a write, so ``admin``
anyway. Request logs name the route template, never the answer (:mod:`app.logs`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.api.openapi import documented
from app.api.schemas.privacy import CustomerDataExport, ErasureResponse
from app.auth import created_by, require_admin, require_admin_scope
from app.dataio.layout import format_date
from app.service.erasure import Receipt
from app.webapp import get_service

__all__ = ["bp"]

bp = Blueprint("admin_privacy", __name__, url_prefix="/admin/customers")
bp.before_request(require_admin)

_INDEX_STATE = {True: "removed", False: "pending", None: "none"}


def _receipt(receipt: Receipt) -> dict[str, Any]:
    return {"id": receipt.id, "erased_at": format_date(receipt.erased_at), "by": receipt.by}


@bp.get("/<customer_id>/data-export")
@documented(
    summary="Export everything stored about a customer (an extension: Medusa has none)",
    response=CustomerDataExport,
    auth="admin",
    responses={403: "The API key's scope is `read`: a data export needs `admin`"},
)
async def export_data(customer_id: str) -> dict[str, Any]:
    """The customer's data as one JSON document, soft-deleted customers included; 404 for an
    unknown (or erased) id."""
    require_admin_scope("a customer's data export")
    return await get_service().export_customer_data(customer_id)


@bp.post("/<customer_id>/erase")
@documented(
    summary="Erase a customer for good (an extension: Medusa has none)",
    response=ErasureResponse,
    auth="admin",
)
async def erase(customer_id: str) -> dict[str, Any]:
    """Hard-delete the customer, the customers merged into it, their addresses, memberships
    and identity links, from MongoDB and the search index; answers the receipt (also for an
    id erased before); 404 for an id never seen."""
    result = await get_service().erase_customers(customer_id, actor=created_by())
    own, *merged = result.receipts
    return {
        "id": own.id,
        "object": "customer_erasure",
        "erased_at": format_date(own.erased_at),
        "by": own.by,
        "merged": [_receipt(r) for r in merged],
        "erased": result.erased,
        "search_index": _INDEX_STATE[result.index_synced],
    }
