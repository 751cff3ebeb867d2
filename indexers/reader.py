"""The read side the service uses: Medusa filters → index queries, or "not servable" (None).

``IndexReader`` answers customer lists (ids page + exact count) and ranked lookups from the
search backend. Whatever it cannot answer exactly (``$or``, ``$like``, unknown fields, an order
it has no key for, no index yet, backend down) returns None, and the caller asks MongoDB.

Read-your-writes: before every read it awaits ``freshness()`` (the sync indexer's
``wait_until_applied``, which returns once everything committed before the call is in the
index), then the backend reads the newest committed index state.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from app.service.filters import as_datetime
from app.service.rules import normalize_email
from indexers.backends.base import BackendError, SearchBackend
from indexers.query import Hit, ListQuery, NotServable, RangeFilter, RankedQuery, TermFilter

__all__ = ["IndexReader", "to_list_query"]

log = logging.getLogger(__name__)

Freshness = Callable[[], Awaitable[None]]
Resolver = Callable[[str, Any], Awaitable[list[str]]]

STRING_FIELDS = ("id", "email", "first_name", "last_name", "company_name", "phone", "created_by")
DATE_FIELDS = ("created_at", "updated_at", "deleted_at")
_DIRECTIONS = {"ASC": "ASC", "DESC": "DESC", "1": "ASC", "-1": "DESC"}


class IndexReader:
    """Serve customer lists and ranked lookups from a search backend.

    :param backend: the search backend (its active generation is read).
    :param freshness: awaited before each read, for read-your-writes.
    :param resolve: ``resolve("groups", value)`` → the live group ids a ``groups`` filter means
        (the same resolver the MongoDB filter compiler uses); without it, group filters fall
        back to MongoDB.
    """

    def __init__(
        self,
        backend: SearchBackend,
        *,
        freshness: Freshness | None = None,
        resolve: Resolver | None = None,
    ) -> None:
        self.backend = backend
        self.freshness = freshness
        self.resolve = resolve

    async def list_customer_ids(
        self,
        filters: Mapping[str, Any] | None,
        *,
        skip: int = 0,
        take: int | None = None,
        order: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        with_deleted: bool = False,
        live_group_ids: Sequence[str] | None = None,
    ) -> tuple[list[str], int] | None:
        """Return (ids of the page, total count), or None when MongoDB must answer.

        :param order: ``{"created_at": "DESC"}`` or FindConfig.sort pairs ``(("id", 1),)``.
        :param live_group_ids: the live group ids a top-level ``groups`` filter resolves to
            (the caller resolved them); otherwise ``resolve`` is used.
        """
        try:
            query = await to_list_query(
                filters,
                skip=skip,
                take=take,
                order=order,
                with_deleted=with_deleted,
                resolve=self.resolve,
                live_group_ids=live_group_ids,
            )
            if self.freshness is not None:
                await self.freshness()
            return await self.backend.list_ids(query)
        except NotServable as exc:
            log.debug("list not servable from the index: %s", exc)
        except BackendError as exc:
            log.warning("search index unavailable for a list, using MongoDB: %s", exc)
        return None

    async def search_customers(
        self,
        q: str,
        filters: Mapping[str, Any] | None = None,
        limit: int = 20,
        *,
        with_deleted: bool = False,
        live_group_ids: Sequence[str] | None = None,
    ) -> tuple[list[Hit], int] | None:
        """Return the best ``limit`` hits for ``q`` within ``filters`` and the match count.

        None when the index cannot answer (the caller may fall back to a MongoDB ``q`` list).
        """
        try:
            base = await to_list_query(
                filters,
                with_deleted=with_deleted,
                resolve=self.resolve,
                live_group_ids=live_group_ids,
            )
            if self.freshness is not None:
                await self.freshness()
            return await self.backend.search(RankedQuery(q=q, limit=limit, filters=base))
        except NotServable as exc:
            log.debug("search not servable from the index: %s", exc)
        except BackendError as exc:
            log.warning("search index unavailable for a ranked lookup: %s", exc)
        return None

    async def size(self) -> int | None:
        """How many customers the index holds (soft-deleted included); ``None`` when the
        backend cannot tell now."""
        try:
            return await self.backend.count()
        except BackendError as exc:
            log.warning("search index unavailable for a count: %s", exc)
            return None


# -- translation ----------------------------------------------------------------------------
class _Builder:
    def __init__(self) -> None:
        self.words: list[str] = []
        self.terms: list[TermFilter] = []
        self.ranges: list[RangeFilter] = []
        self.has_account: bool | None = None
        self.no_match = False
        self.group_ids: frozenset[str] | None = None

    def set_has_account(self, value: bool) -> None:
        if self.has_account is not None and self.has_account != value:
            self.no_match = True
        self.has_account = value


def _string(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise NotServable(f"{name}: not a string")
    return normalize_email(value) if name == "email" else value


def _date(name: str, value: Any) -> datetime:
    try:
        if isinstance(value, datetime | str):
            return as_datetime(value)
    except ValueError:
        pass
    raise NotServable(f"{name}: not a date")


def _strings(name: str, values: Any) -> frozenset[str | None]:
    if not isinstance(values, list | tuple):
        raise NotServable(f"{name}: expected a list")
    return frozenset(_string(name, v) for v in values)


def _add_string(b: _Builder, name: str, value: Any) -> None:
    if isinstance(value, list | tuple):
        b.terms.append(TermFilter(name, in_=_strings(name, value)))
        return
    if not isinstance(value, Mapping):
        b.terms.append(TermFilter(name, in_=frozenset({_string(name, value)})))
        return
    if not value:
        raise NotServable(f"{name}: empty operator map")
    for op, operand in value.items():
        if op == "$eq":
            b.terms.append(TermFilter(name, in_=frozenset({_string(name, operand)})))
        elif op == "$ne":
            b.terms.append(TermFilter(name, nin=frozenset({_string(name, operand)})))
        elif op == "$in":
            b.terms.append(TermFilter(name, in_=_strings(name, operand)))
        elif op == "$nin":
            b.terms.append(TermFilter(name, nin=_strings(name, operand)))
        else:
            raise NotServable(f"{name}: operator {op}")


def _add_date(b: _Builder, name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        if value is None or isinstance(value, list | tuple):
            raise NotServable(f"{name}: equality with null or a list")
        day = _date(name, value)
        b.ranges.append(RangeFilter(name, gte=day, lte=day))
        return
    if not value:
        raise NotServable(f"{name}: empty operator map")
    bounds: dict[str, datetime] = {}
    for op, operand in value.items():
        if op in ("$gt", "$gte", "$lt", "$lte"):
            bounds[op[1:]] = _date(name, operand)
        elif op == "$eq" and operand is not None:
            bounds["gte"] = bounds["lte"] = _date(name, operand)
        else:
            raise NotServable(f"{name}: operator {op}")
    b.ranges.append(RangeFilter(name, **bounds))


def _add_bool(b: _Builder, value: Any) -> None:
    if isinstance(value, bool):
        b.set_has_account(value)
        return
    if isinstance(value, Mapping) and len(value) == 1:
        ((op, operand),) = value.items()
        if isinstance(operand, bool) and op in ("$eq", "$ne"):
            b.set_has_account(operand if op == "$eq" else not operand)
            return
    raise NotServable("has_account: unsupported condition")


async def _add_filters(
    b: _Builder,
    filters: Mapping[str, Any],
    resolve: Resolver | None,
    live_group_ids: Sequence[str] | None = None,
) -> None:
    if not isinstance(filters, Mapping):
        raise NotServable("filters are not an object")
    for key, value in filters.items():
        if key == "q":
            if value is None:
                continue
            if not isinstance(value, str):
                raise NotServable("q: not a string")
            b.words.extend(value.split())
        elif key == "$and" or (
            key == "$or" and isinstance(value, list | tuple) and len(value) <= 1
        ):
            # an empty $or is no condition (as in app.service.filters); one branch is an AND
            if not isinstance(value, list | tuple):
                raise NotServable(f"{key}: expected a list")
            for part in value:
                await _add_filters(b, part, resolve)
        elif key in STRING_FIELDS:
            _add_string(b, key, value)
        elif key in DATE_FIELDS:
            _add_date(b, key, value)
        elif key == "has_account":
            _add_bool(b, value)
        elif key == "groups" and live_group_ids is not None:
            ids = frozenset(live_group_ids)
            b.group_ids = ids if b.group_ids is None else b.group_ids & ids
        elif key == "groups":
            if resolve is None:
                raise NotServable("groups: no resolver")
            if isinstance(value, str):
                value = [value]
            if isinstance(value, list | tuple) and not all(isinstance(v, str) for v in value):
                raise NotServable("groups: expected ids")
            if not isinstance(value, list | tuple | Mapping):
                raise NotServable("groups: unsupported value")
            ids = frozenset(await resolve("groups", value))
            b.group_ids = ids if b.group_ids is None else b.group_ids & ids
        else:
            raise NotServable(f"filter {key!r}")


def _order(
    order: Mapping[str, Any] | Sequence[tuple[str, Any]] | None,
) -> tuple[tuple[str, str], ...]:
    if not order:
        return (("id", "ASC"),)
    pairs = order.items() if isinstance(order, Mapping) else order
    out = []
    for name, direction in pairs:
        key = _DIRECTIONS.get(str(direction).upper())
        if key is None:
            raise NotServable(f"order direction {direction!r}")
        out.append((name, key))
    return tuple(out)


async def to_list_query(
    filters: Mapping[str, Any] | None,
    *,
    skip: int = 0,
    take: int | None = None,
    order: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
    with_deleted: bool = False,
    resolve: Resolver | None = None,
    live_group_ids: Sequence[str] | None = None,
) -> ListQuery:
    """Translate Medusa-style customer filters into a :class:`ListQuery`.

    :raise NotServable: for anything the index cannot answer exactly.
    """
    b = _Builder()
    if filters:
        await _add_filters(b, filters, resolve, live_group_ids)
    terms = tuple(b.terms)
    if b.no_match:
        terms = (*terms, TermFilter("id", in_=frozenset()))
    return ListQuery(
        q=" ".join(b.words) or None,
        terms=terms,
        ranges=tuple(b.ranges),
        has_account=b.has_account,
        group_ids=b.group_ids,
        with_deleted=with_deleted,
        order=_order(order),
        skip=skip,
        take=take,
    )
