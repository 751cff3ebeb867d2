"""Request bodies and query strings → validated pydantic models, with Medusa's messages.

Medusa validates with zod and reports (``formatError`` in its zod helpers)::

    Invalid request: Unrecognized fields: 'a, b'
    Invalid request: Expected type: 'string' for field 'first_name', got: 'number'
    Invalid request: Field 'name' is required
    Invalid request: Invalid email

at most three issues joined by "; ", nested paths joined by ", ". Union members of the request
models are tagged ``~string`` / ``~array`` / ``~object`` (see ``schemas.TextFilter``); those
tags never show in a message.

Bodies are read only by the routes that take one: the JS SDK sends ``content-type:
application/json`` on GET and DELETE too, with nothing after it.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from app.api.querystring import parse_pairs
from app.errors import InvalidData
from app.validation import js_type

__all__ = ["MAX_ISSUES", "describe", "invalid_request", "parse_body", "parse_query", "read_json"]

MAX_ISSUES = 3

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


def _path(loc: tuple[int | str, ...]) -> str:
    return ", ".join(str(part) for part in loc if not str(part).startswith("~"))


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
        elif kind == "literal_error":
            expected = str((error.get("ctx") or {}).get("expected", "")).replace("'", "")
            expected = expected.replace(" or ", ", ")
            issues.append(
                f"Expected: '{expected}' for field '{field}', but got: '{error.get('input')}'"
            )
        else:
            message = str(error.get("msg", "Invalid input")).removeprefix("Value error, ")
            issues.append(message)
    keys = list(unknown.values())
    return [
        f"Unrecognized fields: '{', '.join(keys[int(i[1:])])}'" if i.startswith("\0") else i
        for i in issues
    ]


def invalid_request(exc: ValidationError) -> InvalidData:
    """Return the ``invalid_data`` error for a failed validation."""
    issues = describe(exc) or ["Invalid input"]
    return InvalidData("Invalid request: " + "; ".join(issues[:MAX_ISSUES]))


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _encodable(value: Any) -> bool:
    """Whether every string (and key) encodes as UTF-8: lone surrogates do not."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def read_json() -> Any:
    """Return the parsed JSON body; an empty body is ``{}`` (Medusa's body parser does the same)."""
    raw = request.get_data(cache=True)  # raises 413 above MAX_CONTENT_LENGTH
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise InvalidData("Invalid request: Request body is not valid JSON") from None
    if _SURROGATE_ESCAPE.search(raw) and not _encodable(data):
        raise InvalidData("Invalid request: Request body contains invalid Unicode")
    return data


def parse_body(model: type[M]) -> M:
    """Validate the JSON body against ``model`` (strict: no type coercion, no unknown keys)."""
    data = read_json()
    if not isinstance(data, dict):
        raise InvalidData(
            f"Invalid request: Expected type: 'object' for the request body, got: '{js_type(data)}'"
        )
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        raise invalid_request(exc) from None
    except RecursionError:
        raise InvalidData("Invalid request: Request body is nested too deeply") from None


def parse_query(model: type[M]) -> M:
    """Validate the query string (qs-style nesting, see ``querystring``) against ``model``."""
    data = parse_pairs(request.args.items(multi=True))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_request(exc) from None
