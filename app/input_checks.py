"""Checks of input every layer shares, worded as Medusa words them.

:func:`validate` checks a value against a pydantic model and turns its errors into Medusa's
messages; :func:`check_storable` refuses what MongoDB could not store (or would read as an
operator); :func:`check_id` bounds ids. Medusa validates with zod and reports, e.g.::

    Invalid request: Unrecognized fields: 'a, b'
    Invalid request: Expected type: 'string' for field 'first_name', got: 'number'
    Invalid request: Field 'name' is required
    Invalid request: Invalid email

with at most three issues joined by "; ". The service layer and the HTTP layer both validate
with pydantic models and report through :func:`invalid_data_from`, so one wording serves both.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.bounded import FIELD_LIMIT
from app.errors import InvalidData, quote
from app.limits import MAX_ID_CHARS, MAX_INT, MIN_INT

__all__ = [
    "MAX_DEPTH",
    "MAX_ISSUES",
    "check_id",
    "check_storable",
    "describe",
    "invalid_data_from",
    "js_type",
    "too_long",
    "too_many",
    "validate",
]

MAX_ISSUES = 3
MAX_DEPTH = 32  # nesting levels any input may have (metadata included)

M = TypeVar("M", bound=BaseModel)

_EXPECTED = {
    "string_type": "string",
    "bool_type": "boolean",
    "bool_parsing": "boolean",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
    "list_type": "array",
    "int_type": "number",
    "int_parsing": "number",
    "int_from_float": "number",
    "float_type": "number",
    "float_parsing": "number",
    "datetime_type": "date",
    "datetime_parsing": "date",
    "datetime_from_date_parsing": "date",
    "none_required": "null",
}


def too_long(field: str, limit: int) -> str:
    """The sentence for a text over its limit (the field is quoted: it may be client input)."""
    return f"Field '{quote(field)}' must be at most {limit} characters"


def too_many(field: str, limit: int) -> str:
    """The sentence for a list over its limit."""
    return f"Field '{quote(field)}' must have at most {limit} items"


def js_type(value: Any) -> str:
    """Name ``value``'s type the way a JSON/JavaScript client would ("number", "object" …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _path(loc: tuple[int | str, ...]) -> str:
    return quote(", ".join(str(part) for part in loc if not str(part).startswith("~")))


def describe(exc: ValidationError) -> list[str]:
    """Return one Medusa sentence per issue; unknown keys of one object make one sentence."""
    issues: list[str] = []
    unknown: dict[tuple[Any, ...], list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        field = _path(loc)
        if kind == "extra_forbidden":
            parent = tuple(p for p in loc[:-1] if not str(p).startswith("~"))
            if parent not in unknown:
                unknown[parent] = []
                issues.append(f"\0{len(unknown) - 1}")  # placeholder keeps zod's order
            unknown[parent].append(str(loc[-1]))
        elif kind == "missing":
            issues.append(f"Field '{field}' is required")
        elif kind in _EXPECTED:
            got = js_type(error.get("input"))
            issues.append(f"Expected type: '{_EXPECTED[kind]}' for field '{field}', got: '{got}'")
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            expected = str((error.get("ctx") or {}).get("expected_tags", "")).replace("'~", "'")
            expected = ", ".join(t.strip().strip("'~") for t in expected.split(","))
            got = js_type(error.get("input"))
            issues.append(f"Expected type: '{expected}' for field '{field}', got: '{got}'")
        elif kind in ("less_than_equal", "less_than"):
            limit = (error.get("ctx") or {}).get("le", (error.get("ctx") or {}).get("lt"))
            issues.append(f"Value for field '{field}' too big, expected at most: '{limit}'")
        elif kind in ("greater_than_equal", "greater_than"):
            limit = (error.get("ctx") or {}).get("ge", (error.get("ctx") or {}).get("gt"))
            issues.append(f"Value for field '{field}' too small, expected at least: '{limit}'")
        elif kind in ("literal_error", "enum"):  # an Enum field says what it takes as a Literal
            expected = str((error.get("ctx") or {}).get("expected", "")).replace("'", "")
            expected = expected.replace(" or ", ", ")
            got = quote(error.get("input"))
            issues.append(f"Expected: '{expected}' for field '{field}', but got: '{got}'")
        elif kind == "string_too_long":
            issues.append(too_long(field, (error.get("ctx") or {}).get("max_length", 0)))
        elif kind == "too_long":
            issues.append(too_many(field, (error.get("ctx") or {}).get("max_length", 0)))
        elif kind == "too_short":
            least = (error.get("ctx") or {}).get("min_length", 0)
            issues.append(f"Field '{field}' must have at least {least} items")
        elif kind == FIELD_LIMIT:
            issues.append(f"Field '{field}' {error['msg']}")
        else:
            message = str(error.get("msg", "Invalid input")).removeprefix("Value error, ")
            issues.append(message)
    keys = list(unknown.values())
    return [
        f"Unrecognized fields: '{quote(', '.join(keys[int(i[1:])]))}'" if i.startswith("\0") else i
        for i in issues
    ]


def invalid_data_from(exc: ValidationError) -> InvalidData:
    """Return the ``invalid_data`` error for a failed validation."""
    issues = describe(exc) or ["Invalid input"]
    return InvalidData("Invalid request: " + "; ".join(issues[:MAX_ISSUES]))


def _unstorable(value: Any, path: str, depth: int) -> str | None:
    """Why ``value`` cannot be stored as given, or ``None`` when it can."""
    if depth > MAX_DEPTH:
        return f"Field '{quote(path)}' is nested too deeply"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"Field '{quote(path)}' contains invalid characters"
        if "\x00" in value:
            return f"Field '{quote(path)}' contains a NUL character"
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        if not MIN_INT <= value <= MAX_INT:
            return f"Field '{quote(path)}' must be an integer within the 64-bit range"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return f"Field '{quote(path)}' must be a finite number"
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"Field '{quote(path)}' has a non-string key"
            where = f"{path}.{key}" if path else key
            if key.startswith("$"):
                return f"Field '{quote(where)}' may not start with '$'"
            problem = _unstorable(key, where, depth + 1) or _unstorable(item, where, depth + 1)
            if problem:
                return problem
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problem = _unstorable(item, f"{path}.{index}" if path else str(index), depth + 1)
            if problem:
                return problem
    return None


def check_storable(value: Any, path: str = "") -> None:
    """Reject input MongoDB could not store, would read as an operator, or would change.

    Lone surrogates, NUL characters, integers beyond 64 bits, ``$``-prefixed keys and absurd
    nesting would otherwise surface as driver errors (a 500) instead of ``invalid_data``;
    ``1e400`` (read by JSON parsers as infinity) and NaN would be stored as something else
    than the client sent.
    """
    problem = _unstorable(value, path, 0)
    if problem:
        raise InvalidData(f"Invalid request: {problem}")


def check_id(value: str, field: str = "id") -> str:
    """Reject an id longer than ``MAX_ID_CHARS`` (an id is never echoed whole)."""
    if len(value) > MAX_ID_CHARS:
        raise InvalidData(f"Invalid request: {too_long(field, MAX_ID_CHARS)}")
    return value


def validate(model: type[M], data: Any) -> M:
    """Validate ``data`` against ``model``, raising ``InvalidData`` with Medusa's wording."""
    if isinstance(data, model):
        data = data.model_dump(exclude_unset=True)
    if not isinstance(data, dict):
        raise InvalidData(f"Invalid request: Expected type: 'object', got: '{js_type(data)}'")
    check_storable(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_data_from(exc) from None
