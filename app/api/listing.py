"""List routes: their query parameters → the service's filters and config, and the page.

:func:`list_page` is a whole list view: the route names its query model, shape and service
method; paging, ``order``, ``fields`` and the filters the client sent are read the same way
for every resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from flask import Response, current_app
from pydantic import BaseModel

from app.api.fields import Selection, Shape, select
from app.api.schemas import LIST_PARAMS
from app.api.serialize import dump_many, dump_many_json
from app.errors import InvalidData, quote
from app.timing import step

__all__ = [
    "ListQuery",
    "Page",
    "filters_of",
    "list_config",
    "list_page",
    "order_of",
    "page",
    "page_response",
]


class ListQuery(Protocol):
    """What every list route's query model has (besides its filters)."""

    @property
    def fields(self) -> str | None: ...
    @property
    def limit(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def order(self) -> str | None: ...
    @property
    def with_deleted(self) -> bool: ...
    def model_dump(
        self, *, by_alias: bool | None = None, exclude_unset: bool = False, exclude: Any = None
    ) -> dict[str, Any]: ...


ListAndCount = Callable[
    [dict[str, Any], dict[str, Any]], Awaitable[tuple[Sequence[BaseModel], int]]
]

Page = Response | dict[str, Any]
"""What a list view returns: a page written in one piece, or its dict."""

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


def list_config(query: ListQuery, selection: Selection) -> dict[str, Any]:
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


def filters_of(
    query: BaseModel | ListQuery, *, exclude: frozenset[str] = LIST_PARAMS
) -> dict[str, Any]:
    """The filters the client actually sent, in the service's (Medusa's) form."""
    filters = query.model_dump(by_alias=True, exclude_unset=True, exclude=set(exclude))
    if filters.get("q") == "":
        filters.pop("q")
    return filters


def page(key: str, items: list[dict[str, Any]], count: int, query: ListQuery) -> dict[str, Any]:
    """A list response: ``{<key>, count, offset, limit}``."""
    return {key: items[: query.limit], "count": count, "offset": query.offset, "limit": query.limit}


def page_response(
    key: str, items: Sequence[BaseModel], count: int, query: ListQuery, selection: Selection
) -> Page:
    """:func:`page` of ``items`` as ``selection`` shows them; written in one piece, with the
    items serialised by :func:`dump_many_json`, when it can (the same JSON the app's encoder
    writes from the dict, which is returned otherwise)."""
    shown = items[: query.limit]
    encoded = dump_many_json(shown, selection)
    if encoded is None:
        return page(key, dump_many(shown, selection), count, query)
    head = f"{{{json.dumps(key)}:".encode()
    tail = f',"count":{count},"offset":{query.offset},"limit":{query.limit}}}\n'.encode()
    return current_app.response_class(head + encoded + tail, mimetype="application/json")


async def list_page(
    key: str,
    query: ListQuery,
    shape: Shape,
    list_and_count: ListAndCount,
    **fixed: str,
) -> Page:
    """The page of ``list_and_count`` that ``query`` asks for, with ``fixed`` filters added
    (e.g. the customer whose addresses these are), under ``key``."""
    with step("parse"):
        selection = select(query.fields, shape)
        filters = {**filters_of(query), **fixed}
        config = list_config(query, selection)
    items, count = await list_and_count(filters, config)
    with step("serialise"):
        return page_response(key, items, count, query, selection)
