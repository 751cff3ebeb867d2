"""Small helpers shared by the resource blueprints: list parameters → service config."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from app.api.fields import Selection
from app.api.schemas import LIST_PARAMS
from app.errors import InvalidData, quote

__all__ = ["filters_of", "list_config", "order_of", "page"]

_ORDER_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,63}$")


def order_of(order: str | None) -> dict[str, str] | None:
    """``"-created_at"`` → ``{"created_at": "DESC"}``; several fields may be comma-separated."""
    if not order:
        return None
    result: dict[str, str] = {}
    for part in order.split(","):
        part = part.strip()
        if not part:
            continue
        direction = "DESC" if part.startswith("-") else "ASC"
        name = part.lstrip("+-").strip()
        if not _ORDER_FIELD.match(name):
            raise InvalidData(f"Order field {quote(name)} is not valid")
        result[name] = direction
    return result or None


def list_config(query: Any, selection: Selection) -> dict[str, Any]:
    """The service config of a list request (paging, order, relations, soft-deleted rows)."""
    config: dict[str, Any] = {
        "skip": query.offset,
        "take": query.limit,  # `limit=0` asks for the count only
        "relations": selection.relation_names,
        "with_deleted": query.with_deleted,
    }
    order = order_of(query.order)
    if order:
        config["order"] = order
    return config


def filters_of(query: BaseModel, *, exclude: frozenset[str] = LIST_PARAMS) -> dict[str, Any]:
    """The filters the client actually sent, in the service's (Medusa's) form."""
    filters = query.model_dump(by_alias=True, exclude_unset=True, exclude=set(exclude))
    if filters.get("q") == "":
        filters.pop("q")
    return filters


def page(key: str, items: list[dict[str, Any]], count: int, query: Any) -> dict[str, Any]:
    """A list response: ``{<key>, count, offset, limit}``."""
    return {key: items[: query.limit], "count": count, "offset": query.offset, "limit": query.limit}
