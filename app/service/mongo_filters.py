"""The filter tree (:mod:`app.filtering`) → a MongoDB query, for the entity it was compiled for.

Values were checked and normalised when the tree was compiled; this only spells it for
MongoDB. Conditions are AND-ed into one flat document (:func:`app.service.common.all_of`), so
the embedded server plans index scans for them. Relation filters must have been resolved to ids
first (``app.service.queries.resolve_relations``).
"""

from __future__ import annotations

import re
from typing import Any

from app.entities import Entity, Op
from app.filtering import And, Compare, Node, Or, Related, Text
from app.service.mongo import all_of
from app.textsearch import (
    SHORT_WORD,
    TERMS_STARTS,
    TERMS_TEXT,
    check_word,
    digit_regex,
    digits_of,
    is_phone_word,
    is_short,
    phone_regex,
    starts_regex,
    terms_regex,
)

__all__ = ["like_to_regex", "to_mongo"]

_RELATION_PATHS = {
    ("customer", "groups"): "groups.customer_group_id",  # memberships embedded in the customer
    ("customer_group", "customers"): "_id",  # the groups the related customers belong to
}
"""Where a resolved relation's ids are compared: memberships are never soft-deleted on their
own (only their customer or group is), so the multikey index on the references answers
``groups`` without an ``$elemMatch``."""


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


def _compare(entity: Entity, node: Compare) -> dict[str, Any]:
    path = entity.field(node.field).path
    if node.op is Op.EQ:
        return {path: node.value}
    if node.op.takes_list:
        return {path: {node.op.value: list(node.value)}}
    if node.op is Op.LIKE:
        return {path: {"$regex": like_to_regex(node.value), "$options": "s"}}
    if node.op is Op.ILIKE:
        return {path: {"$regex": like_to_regex(node.value), "$options": "is"}}
    return {path: {node.op.value: node.value}}


def _text(entity: Entity, node: Text) -> dict[str, Any]:
    """``q`` (``app.textsearch`` is the definition it must equal): per word, its compared
    form in one of the stored texts (3+ characters) or beginning one of the word starts
    (shorter), or the phone digit to digit. Both live in the document's ``q_terms``
    (``stored_terms``); a short word is an anchored regex on array elements, which an index
    can serve."""
    terms = entity.q_terms
    if terms is None:  # nothing it holds is searched: no word can match (as in the definition)
        return {"_id": {"$in": []}} if node.words else {}
    words = []
    for word in node.words:
        needle = check_word(word)
        options: list[dict[str, Any]] = [
            {f"{terms}.{TERMS_STARTS}": starts_regex(needle)}
            if is_short(word)
            else {f"{terms}.{TERMS_TEXT}": terms_regex(needle)}
        ]
        if is_phone_word(word):
            digits = digits_of(word)
            for phone, stored_digits in entity.q_digits:
                if len(digits) >= SHORT_WORD:
                    options.append({stored_digits: digit_regex(digits)})
                else:
                    options.append({entity.field(phone).path: phone_regex(digits)})
        words.append(options[0] if len(options) == 1 else {"$or": options})
    if not words:
        return {}
    return words[0] if len(words) == 1 else {"$and": words}


def _related(entity: Entity, node: Related) -> dict[str, Any]:
    if node.ids is None:
        raise ValueError(f"relation {node.relation!r} was not resolved to ids")
    return {_RELATION_PATHS[entity.name, node.relation]: {"$in": list(node.ids)}}


def to_mongo(node: Node, entity: Entity) -> dict[str, Any]:
    """The MongoDB query of a compiled filter of ``entity`` (``{}``: everything)."""
    if isinstance(node, And):
        return all_of(*(to_mongo(part, entity) for part in node.parts))
    if isinstance(node, Or):
        return {"$or": [to_mongo(part, entity) for part in node.parts]}
    if isinstance(node, Compare):
        return _compare(entity, node)
    if isinstance(node, Text):
        return _text(entity, node)
    return _related(entity, node)
