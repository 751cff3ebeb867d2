"""``GET /admin/customers/search``: the ranked admin lookup served by the search index."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.api import schemas as s
from app.api.listing import filters_of
from app.api.openapi import documented
from app.api.parsing import parse_query
from app.api.serialize import ADMIN_CUSTOMER, dump, select
from app.auth import require_admin
from app.webapp import get_service

bp = Blueprint("admin_search", __name__, url_prefix="/admin/customers")
bp.before_request(require_admin)

SEARCH_PARAMS = frozenset({"fields", "limit", "with_deleted", "q"})


@bp.get("/search")
@documented(
    summary="Search customers (ranked)",
    query=s.AdminCustomerSearchQuery,
    response=s.CustomerSearchResponse,
    auth="admin",
)
async def search_customers() -> dict[str, Any]:
    """Best matches first: typos, accents, as-you-type, names either way, phones by last digits."""
    query = parse_query(s.AdminCustomerSearchQuery)
    selection = select(query.fields, ADMIN_CUSTOMER)
    result = await get_service().search_customers(
        query.q,
        filters_of(query, exclude=SEARCH_PARAMS),
        {
            "take": query.limit,
            "relations": selection.relation_names,
            "with_deleted": query.with_deleted,
        },
    )
    return {
        "hits": [
            {"customer": dump(h.customer, selection), "score": h.score, "highlights": h.highlights}
            for h in result.hits
        ],
        "count": result.count,
        "took_ms": result.took_ms,
    }
