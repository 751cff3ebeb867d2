"""Medusa-style filters → the filter tree (:mod:`app.filtering.nodes`), checked once.

Accepted: ``{field: value}`` (equality), ``{field: [values]}`` (IN), operator maps with the
field's operators (``$eq $ne $in $nin $gt $gte $lt $lte``, and ``$like $ilike`` on text),
``$and`` / ``$or`` lists, ``q`` (see ``app.textsearch``) and relation filters (``groups`` on
customers, ``customers`` on groups: ids, or a filter on the related entity). Every field name
is checked against the entity's declaration and every value against the field's kind, so
``{"$where": …}``, an unknown operator or an unknown field is ``invalid_data``, never a
MongoDB operator. Values are bounded (``app.limits``): a string operand has at most
``MAX_TEXT_CHARS`` characters and a list (``$in``, ``$and`` …) at most ``MAX_LIST_ITEMS``
items, so no filter can ask for unbounded work.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.entities import ENTITIES, Entity, Field, Kind, Op
from app.errors import InvalidData, quote
from app.filtering.nodes import And, Compare, Node, Or, Related, Text
from app.input_checks import MAX_DEPTH, check_storable, too_long, too_many
from app.limits import MAX_LIST_ITEMS, MAX_TEXT_CHARS
from app.textsearch import check_q, check_word, split_words

__all__ = ["as_datetime", "compile_filters"]

_OPERATORS = {op.value: op for op in Op}


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


def _scalar(field: Field, value: Any) -> Any:
    """Check one filter value against its field's kind; return it normalised."""
    if value is None:
        return None
    name = field.name
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        raise _invalid(too_long(name, MAX_TEXT_CHARS))
    check_storable(value, name)
    if field.kind.is_string and isinstance(value, str):
        return field.normalize(value) if field.normalize else value
    if field.kind is Kind.BOOL and isinstance(value, bool):
        return value
    if field.kind is Kind.DATE and isinstance(value, datetime | str):
        try:
            return as_datetime(value)
        except ValueError:
            raise _invalid(f"'{name}' expects a date, got '{quote(value)}'") from None
    raise _invalid(f"'{name}' expects a {field.kind.filter_type}, got {type(value).__name__}")


def _values(field: Field, values: list[Any] | tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_scalar(field, v) for v in _items(field.name, values))


def _operator(field: Field, key: str, value: Any) -> Compare:
    name = field.name
    op = _OPERATORS.get(key)
    if op is None:
        raise _invalid(f"unknown operator '{quote(key)}' on '{name}'")
    if op.takes_list:
        if not isinstance(value, list | tuple):
            raise _invalid(f"'{name}' {key} expects a list")
        compare = Compare(name, op, _values(field, value))
    elif op.is_pattern:
        if not field.kind.is_string or not isinstance(value, str):
            raise _invalid(f"'{name}' {key} expects a string pattern")
        if len(value) > MAX_TEXT_CHARS:
            raise _invalid(too_long(name, MAX_TEXT_CHARS))
        compare = Compare(name, op, value)
    else:
        compare = Compare(name, op, _scalar(field, value))
    if op not in field.operators:
        raise _invalid(f"operator '{key}' is not allowed on '{name}'")
    return compare


def _condition(field: Field, value: Any) -> Node:
    if isinstance(value, list | tuple):
        return Compare(field.name, Op.IN, _values(field, value))
    if isinstance(value, Mapping):
        if not value:
            raise _invalid(f"empty operator map on '{field.name}'")
        parts = [_operator(field, key, operand) for key, operand in value.items()]
        return parts[0] if len(parts) == 1 else And(tuple(parts))
    return Compare(field.name, Op.EQ, _scalar(field, value))


def _text(entity: Entity, q: Any) -> Text | None:
    """``q`` as words, checked: bounded, and each word searchable (see ``app.textsearch``)."""
    if q is None:
        return None
    if not isinstance(q, str):
        raise _invalid("'q' expects a string")
    check_storable(q, "q")
    check_q(q)
    words = tuple(split_words(q))
    if entity.q_fields:
        for word in words:
            check_word(word)
    return Text(words) if q else None


def _related(entity: Entity, relation: str, value: Any) -> Related:
    """A relation filter: ids, or a filter on the related entity (compiled afresh: its own
    nesting depth, no relation filters of its own)."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        if not all(isinstance(v, str) for v in _items(relation, value)):
            raise _invalid(f"'{relation}' expects ids")
        return Related(relation, Compare("id", Op.IN, tuple(value)))
    if not isinstance(value, Mapping):
        raise _invalid(f"'{relation}' expects an id, a list of ids or an object")
    target = ENTITIES[entity.relation(relation).target]
    return Related(relation, _compile(value, target, related=False, level=0))


def _compile(filters: Any, entity: Entity, *, related: bool, level: int) -> And:
    if filters is None:
        return And()
    if not isinstance(filters, Mapping):
        raise _invalid("filters must be an object")
    if level > MAX_DEPTH:
        raise _invalid(f"'$and' / '$or' may be nested at most {MAX_DEPTH} levels deep")
    fields = entity.filterable
    relations = entity.filter_relations
    parts: list[Node] = []
    for key, value in filters.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list | tuple):
                raise _invalid(f"'{key}' expects a list of filters")
            branches = tuple(
                _compile(part, entity, related=related, level=level + 1)
                for part in _items(key, value)
            )
            if branches:
                parts.append(And(branches) if key == "$and" else Or(branches))
        elif key == "q":
            text = _text(entity, value)
            if text is not None:
                parts.append(text)
        elif key in relations:
            if not related:
                raise _invalid(f"'{key}' is not filterable here")
            parts.append(_related(entity, key, value))
        elif key in fields:
            parts.append(_condition(fields[key], value))
        else:
            raise _invalid(f"unknown field '{quote(key)}' on {entity.name}")
    return And(tuple(parts))


def compile_filters(filters: Mapping[str, Any] | None, entity: Entity) -> And:
    """Check Medusa-style ``filters`` for ``entity`` and compile them (``And()``: everything).

    Relation filters (``groups``) are compiled against the related entity; the service
    resolves them to ids before a reader translates the tree.

    :raise InvalidData: for anything that is not a valid filter of ``entity``.
    """
    return _compile(filters, entity, related=True, level=0)
