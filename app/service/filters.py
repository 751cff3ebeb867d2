"""Medusa-style filters → MongoDB queries, without ever passing user input through raw.

Accepted: ``{field: value}`` (equality), ``{field: [values]}`` (IN), operator maps with
``$eq $ne $in $nin $like $ilike $gt $gte $lt $lte``, ``$and`` / ``$or`` lists, ``q`` (see
``app.textsearch``) and relation filters (``groups`` on customers, ``customers`` on groups),
which the caller resolves to ids through ``resolve``. Every field name is checked against the
entity's list and every value against the field's type, so ``{"$where": …}``, an unknown
operator or an unknown field is ``invalid_data``, never a MongoDB operator. Values are bounded
(``app.limits``): a string operand has at most ``MAX_TEXT_CHARS`` characters and a list (``$in``,
``$and`` …) at most ``MAX_LIST_ITEMS`` items, so no filter can ask for unbounded work.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.errors import InvalidData, quote
from app.limits import MAX_LIST_ITEMS, MAX_TEXT_CHARS
from app.service.common import all_of
from app.service.rules import normalize_email
from app.textsearch import (
    ADDRESS_FIELDS,
    CUSTOMER_FIELDS,
    GROUP_FIELDS,
    SHORT_WORD,
    check_q,
    digit_regex,
    digits_of,
    is_phone_word,
    phone_regex,
    split_words,
    text_regex,
)
from app.validation import MAX_DEPTH, check_storable, too_long, too_many

__all__ = [
    "ADDRESS",
    "CUSTOMER",
    "GROUP",
    "MEMBERSHIP",
    "Entity",
    "Resolver",
    "as_datetime",
    "compile_filters",
]

STR, BOOL, DATE = "string", "boolean", "date"
OPERATORS = frozenset(
    {"$eq", "$ne", "$in", "$nin", "$like", "$ilike", "$gt", "$gte", "$lt", "$lte"}
)

Resolver = Callable[[str, Any], Awaitable[list[str]]]
"""``resolve(relation, value)`` → ids of the related entity's owners (see Entity.relations)."""


@dataclass(frozen=True)
class Entity:
    """What can be filtered on one entity: field → type, paths, ``q`` fields, relations."""

    name: str
    fields: Mapping[str, str]
    q_fields: tuple[str, ...]
    phone_q: bool = False
    id_path: str = "_id"
    relations: frozenset[str] = field(default_factory=frozenset)
    normalized: frozenset[str] = field(default_factory=frozenset)

    def path(self, name: str) -> str:
        return self.id_path if name == "id" else name


_STAMPS = {"created_at": DATE, "updated_at": DATE, "deleted_at": DATE}

CUSTOMER = Entity(
    name="customer",
    fields={
        "id": STR,
        "email": STR,
        "first_name": STR,
        "last_name": STR,
        "company_name": STR,
        "phone": STR,
        "has_account": BOOL,
        "created_by": STR,
        **_STAMPS,
    },
    q_fields=CUSTOMER_FIELDS,
    phone_q=True,
    relations=frozenset({"groups"}),
    normalized=frozenset({"email"}),
)
GROUP = Entity(
    name="customer_group",
    fields={"id": STR, "name": STR, "created_by": STR, **_STAMPS},
    q_fields=GROUP_FIELDS,
    relations=frozenset({"customers"}),
)
ADDRESS = Entity(
    name="customer_address",
    fields={
        "id": STR,
        "customer_id": STR,
        "address_name": STR,
        "is_default_shipping": BOOL,
        "is_default_billing": BOOL,
        "company": STR,
        "first_name": STR,
        "last_name": STR,
        "address_1": STR,
        "address_2": STR,
        "city": STR,
        "country_code": STR,
        "province": STR,
        "postal_code": STR,
        "phone": STR,
        **_STAMPS,
    },
    q_fields=ADDRESS_FIELDS,
    id_path="id",
)
MEMBERSHIP = Entity(
    name="customer_group_customer",
    fields={"id": STR, "customer_id": STR, "customer_group_id": STR, "created_by": STR, **_STAMPS},
    q_fields=(),
    id_path="id",
)


def _invalid(message: str) -> InvalidData:
    return InvalidData(f"Invalid filter: {message}")


def _items(name: str, value: list[Any] | tuple[Any, ...]) -> list[Any] | tuple[Any, ...]:
    """``value`` if it has at most ``MAX_LIST_ITEMS`` items."""
    if len(value) > MAX_LIST_ITEMS:
        raise _invalid(too_many(name, MAX_LIST_ITEMS))
    return value


def as_datetime(value: datetime | str) -> datetime:
    """A filter date (a datetime or ISO 8601 text) as an aware UTC-based datetime.

    :raise ValueError: when the text is not a date.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _scalar(entity: Entity, name: str, kind: str, value: Any) -> Any:
    """Check one filter value against its field type; return it in stored form."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        raise _invalid(too_long(name, MAX_TEXT_CHARS))
    check_storable(value, name)
    if kind == STR and isinstance(value, str):
        return normalize_email(value) if name in entity.normalized else value
    if kind == BOOL and isinstance(value, bool):
        return value
    if kind == DATE and isinstance(value, datetime | str):
        try:
            return as_datetime(value)
        except ValueError:
            raise _invalid(f"'{name}' expects a date, got '{quote(value)}'") from None
    raise _invalid(f"'{name}' expects a {kind}, got {type(value).__name__}")


def like_to_regex(pattern: str) -> str:
    """SQL LIKE → anchored regex: ``%`` any run, ``_`` one character, the rest literal.

    The pieces between ``%`` are each matched at their leftmost place, inside an atomic group
    (``(?>…)``, PCRE and Python 3.11+): for LIKE that is exact (an earlier place never leaves
    less room for the next piece) and the match is linear in the value, where ``^.*a.*a…$``
    backtracks through every split of a long value, a regex no ``maxTimeMS`` can interrupt.
    """
    first, *middle = pattern.split("%")
    parts = ["^", _like_piece(first)]
    if middle:
        *inner, last = middle
        parts.extend(f"(?>.*?{_like_piece(piece)})" for piece in inner if piece)
        parts.append(f".*{_like_piece(last)}")
    parts.append("$")
    return "".join(parts)


def _like_piece(piece: str) -> str:
    return "".join("." if char == "_" else re.escape(char) for char in piece)


def _operator(entity: Entity, name: str, kind: str, op: str, value: Any) -> dict[str, Any]:
    if op not in OPERATORS:
        raise _invalid(f"unknown operator '{quote(op)}' on '{name}'")
    if op in ("$in", "$nin"):
        if not isinstance(value, list | tuple):
            raise _invalid(f"'{name}' {op} expects a list")
        return {op: [_scalar(entity, name, kind, v) for v in _items(name, value)]}
    if op in ("$like", "$ilike"):
        if kind != STR or not isinstance(value, str):
            raise _invalid(f"'{name}' {op} expects a string pattern")
        if len(value) > MAX_TEXT_CHARS:
            raise _invalid(too_long(name, MAX_TEXT_CHARS))
        regex = {"$regex": like_to_regex(value)}
        return {**regex, "$options": "is"} if op == "$ilike" else {**regex, "$options": "s"}
    return {op: _scalar(entity, name, kind, value)}


def _field_condition(entity: Entity, name: str, value: Any) -> dict[str, Any]:
    kind = entity.fields[name]
    path = entity.path(name)
    if isinstance(value, list | tuple):
        return {path: {"$in": [_scalar(entity, name, kind, v) for v in _items(name, value)]}}
    if isinstance(value, Mapping):
        if not value:
            raise _invalid(f"empty operator map on '{name}'")
        conditions = [
            {path: _operator(entity, name, kind, op, operand)} for op, operand in value.items()
        ]
        return conditions[0] if len(conditions) == 1 else {"$and": conditions}
    return {path: _scalar(entity, name, kind, value)}


def q_condition(entity: Entity, q: Any) -> dict[str, Any] | None:
    """The MongoDB form of ``q`` (``app.textsearch`` is the definition it must equal)."""
    if q is None:
        return None
    if not isinstance(q, str):
        raise _invalid("'q' expects a string")
    check_storable(q, "q")
    check_q(q)
    words = []
    for word in split_words(q):
        options: list[dict[str, Any]] = [
            {entity.path(name): text_regex(word)} for name in entity.q_fields
        ]
        if entity.phone_q and is_phone_word(word):
            digits = digits_of(word)
            if len(digits) >= SHORT_WORD:
                options.append({"phone_digits": digit_regex(digits)})
            else:
                options.append({"phone": phone_regex(digits)})
        words.append({"$or": options})
    if not words:
        return None
    return words[0] if len(words) == 1 else {"$and": words}


async def compile_filters(
    filters: Mapping[str, Any] | None,
    entity: Entity,
    resolve: Resolver | None = None,
    *,
    level: int = 0,
) -> dict[str, Any]:
    """Compile Medusa-style ``filters`` for ``entity`` into a MongoDB query (``{}`` = all).

    ``level`` counts enclosing ``$and`` / ``$or``; deeper than ``MAX_DEPTH`` is refused.
    """
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise _invalid("filters must be an object")
    if level > MAX_DEPTH:
        raise _invalid(f"'$and' / '$or' may be nested at most {MAX_DEPTH} levels deep")
    conditions: list[dict[str, Any]] = []
    for key, value in filters.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list | tuple):
                raise _invalid(f"'{key}' expects a list of filters")
            parts = [
                await compile_filters(part, entity, resolve, level=level + 1)
                for part in _items(key, value)
            ]
            if parts:
                conditions.append({key: parts})
        elif key == "q":
            condition = q_condition(entity, value)
            if condition:
                conditions.append(condition)
        elif key in entity.relations:
            if resolve is None:
                raise _invalid(f"'{key}' is not filterable here")
            conditions.append(await _relation_condition(entity, key, value, resolve))
        elif key in entity.fields:
            conditions.append(_field_condition(entity, key, value))
        else:
            raise _invalid(f"unknown field '{quote(key)}' on {entity.name}")
    return all_of(*conditions)


async def _relation_condition(
    entity: Entity, relation: str, value: Any, resolve: Resolver
) -> dict[str, Any]:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        if not all(isinstance(v, str) for v in _items(relation, value)):
            raise _invalid(f"'{relation}' expects ids")
    elif not isinstance(value, Mapping):
        raise _invalid(f"'{relation}' expects an id, a list of ids or an object")
    ids = await resolve(relation, value)
    if relation == "groups":
        # Memberships are never soft-deleted on their own (only their customer or group is),
        # so the multikey index on the references answers this without an $elemMatch.
        return {"groups.customer_group_id": {"$in": ids}}
    return {entity.id_path: {"$in": ids}}
