"""Nested query strings the way ``qs`` (and so ``@medusajs/js-sdk``) writes them.

``qs.stringify`` sends arrays as ``groups[0]=a&groups[1]=b`` and objects as
``groups[id][0]=a`` or ``created_at[$gt]=2024-01-01``; hand-written clients also send
``groups[]=a``, ``groups=a&groups=b`` and Medusa's dotted ``groups.id=a``. All of them become
plain nested dicts and lists of strings here::

    parse_pairs([("groups[0]", "a"), ("groups[1]", "b")])  == {"groups": ["a", "b"]}
    parse_pairs([("created_at[$gt]", "2024-01-01")])        == {"created_at": {"$gt": "2024-01-01"}}
    parse_pairs([("$or[0][email]", "a@x.com")])              == {"$or": [{"email": "a@x.com"}]}

A single ``[]`` value holding commas is split (``groups[]=a,b``), as Medusa does. Anything the
grammar cannot express (a key both scalar and object, an index that is too big, nesting deeper
than :data:`MAX_DEPTH`) is ``invalid_data``, never a server error. Values stay strings; the
request models decide what they mean.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from app.errors import InvalidData, quote

__all__ = ["MAX_DEPTH", "MAX_INDEX", "MAX_PARAMS", "parse_pairs"]

MAX_DEPTH = 5  # brackets after the first key (qs's own default depth)
MAX_INDEX = 1000  # largest explicit array index, so `a[999999999]=x` cannot allocate
MAX_PARAMS = 1000  # query parameters per request (qs's parameterLimit)

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")

_Path = list[str]


class _Index(int):
    """An array position written in the query (`a[3]`), kept apart from object keys."""


_APPEND = object()  # `a[]`


def _split_key(key: str) -> list[Any]:
    """Split ``a[b][0][]`` into ``["a", "b", _Index(0), _APPEND]``."""
    bracket = key.find("[")
    if bracket <= 0:
        head, rest = key, ""
    else:
        head, rest = key[:bracket], key[bracket:]
    if not rest:
        if head.count(".") > 1:
            raise InvalidData(
                f"Invalid request: Key accessor more than 2 levels deep: {quote(key)}"
            )
        return head.split(".") if "." in head and not head.startswith(".") else [head]
    parts: list[Any] = [head]
    position = 0
    for match in _SEGMENT.finditer(rest):
        if match.start() != position:
            break
        position = match.end()
        inner = match.group(1)
        if inner == "":
            parts.append(_APPEND)
        elif inner.isdigit() and len(inner) <= 7:
            index = int(inner)
            if index > MAX_INDEX:
                raise InvalidData(f"Invalid request: Array index too large in '{quote(key)}'")
            parts.append(_Index(index))
        else:
            parts.append(inner)
    if position != len(rest):
        # `a[b]c` or an unbalanced bracket: qs keeps the remainder as one literal key segment.
        parts.append(rest[position:])
    if len(parts) - 1 > MAX_DEPTH:
        raise InvalidData(f"Invalid request: Query parameter '{quote(head)}' is nested too deeply")
    return parts


def _conflict(key: str) -> InvalidData:
    return InvalidData(f"Invalid request: Conflicting values for query parameter '{quote(key)}'")


class _Node:
    """A partially built value: scalar list, indexed list, or object."""

    __slots__ = ("appended", "indexed", "kind", "obj", "scalars")

    def __init__(self) -> None:
        self.kind: str | None = None  # "scalar" | "list" | "object"
        self.scalars: list[str] = []
        self.appended: list[Any] = []
        self.indexed: dict[int, _Node] = {}
        self.obj: dict[str, _Node] = {}


def _insert(node: _Node, parts: list[Any], value: str, key: str) -> None:
    if not parts:
        if node.kind == "list":  # `a[]=x&a=y`: both are list items
            node.appended.append(value)
            return
        if node.kind not in (None, "scalar"):
            raise _conflict(key)
        node.kind = "scalar"
        node.scalars.append(value)
        return
    part, rest = parts[0], parts[1:]
    if part is _APPEND or isinstance(part, _Index):
        if node.kind == "scalar" and part is _APPEND and not rest:
            # `a=x&a[]=y`: both are list items.
            node.kind = "list"
            node.appended.extend(node.scalars)
            node.scalars = []
        if node.kind not in (None, "list"):
            raise _conflict(key)
        node.kind = "list"
        if part is _APPEND:
            if rest:
                child = _Node()
                _insert(child, rest, value, key)
                node.appended.append(child)
            else:
                node.appended.extend(v for v in value.split(",") if v != "" or value == "")
            return
        assert isinstance(part, _Index)
        child = node.indexed.setdefault(int(part), _Node())
        _insert(child, rest, value, key)
        return
    if node.kind not in (None, "object"):
        raise _conflict(key)
    node.kind = "object"
    _insert(node.obj.setdefault(part, _Node()), rest, value, key)


def _build(node: _Node) -> Any:
    if node.kind == "scalar":
        return node.scalars[0] if len(node.scalars) == 1 else list(node.scalars)
    if node.kind == "list":
        items = [_build(node.indexed[i]) for i in sorted(node.indexed)]
        items.extend(_build(v) if isinstance(v, _Node) else v for v in node.appended)
        return items
    if node.kind == "object":
        return {k: _build(v) for k, v in node.obj.items()}
    return None


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Turn decoded ``(key, value)`` pairs into nested dicts and lists of strings."""
    root = _Node()
    root.kind = "object"
    count = 0
    for key, value in pairs:
        count += 1
        if count > MAX_PARAMS:
            raise InvalidData(f"Invalid request: More than {MAX_PARAMS} query parameters")
        if not key:
            continue
        parts = _split_key(key)
        if not parts or parts[0] == "":
            raise InvalidData(f"Invalid request: Invalid query parameter '{quote(key)}'")
        _insert(root, parts, value, key)
    return _build(root)
