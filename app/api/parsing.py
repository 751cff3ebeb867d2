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
application/json`` on GET and DELETE too, with nothing after it. An empty body is ``{}``
whatever its content type; a non-empty one must be declared JSON (``application/json`` or
``application/*+json``, parameters such as ``charset`` allowed), else 415. Path parameters are
ids: one longer than ``MAX_ID_CHARS`` is 400 naming the parameter, never a 404 that echoes it.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import UnsupportedMediaType

from app.api.querystring import parse_pairs
from app.errors import InvalidData
from app.input_checks import MAX_ISSUES, check_id, check_storable, describe, js_type
from app.input_checks import invalid_data_from as invalid_request

__all__ = [
    "MAX_ISSUES",
    "NOT_JSON_MESSAGE",
    "check_path_ids",
    "describe",
    "invalid_request",
    "parse_body",
    "parse_query",
    "read_json",
]

NOT_JSON_MESSAGE = "Request body must be JSON (Content-Type: application/json)"

M = TypeVar("M", bound=BaseModel)

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
    if not request.is_json:  # application/json or application/*+json
        raise UnsupportedMediaType(NOT_JSON_MESSAGE)
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
        body = model.model_validate(data, strict=True)
    except ValidationError as exc:
        raise invalid_request(exc) from None
    except RecursionError:
        raise InvalidData("Invalid request: Request body is nested too deeply") from None
    check_storable(data)  # after the model, so unknown keys are reported as Medusa does
    return body


def parse_query(model: type[M]) -> M:
    """Validate the query string (qs-style nesting, see ``querystring``) against ``model``."""
    data = parse_pairs(request.args.items(multi=True))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_request(exc) from None


def check_path_ids() -> None:
    """Refuse a path parameter (always an id here) longer than an id can be: 400, not 404.

    Runs after the blueprint's authentication (``app.api.init_app`` appends it), so an
    unauthenticated caller still gets 401 first.
    """
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            check_id(value, name)
