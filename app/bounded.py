"""Pydantic types of bounded input, built from ``app.limits``: declared once, used twice.

The service's input models (``app.service.inputs``) and the HTTP request models
(``app.api.schemas``) are both built from these types, so the service enforces exactly what
the OpenAPI document declares (``maxLength``, ``maxItems``, ...), for every caller: HTTP, the
CLI, imports. Response models and the storage models never use them, so values stored before a
limit existed stay readable.

A broken limit is reported by ``app.input_checks.describe`` as, e.g.,
"Field 'first_name' must be at most 1000 characters". Numbers (finite, 64-bit) are checked for
every value by ``app.input_checks.check_storable``, not here: they matter wherever a value can go.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StrictStr
from pydantic_core import PydanticCustomError

from app.limits import (
    MAX_EMAIL_CHARS,
    MAX_ID_CHARS,
    MAX_LIST_ITEMS,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_TEXT_CHARS,
)

__all__ = [
    "FIELD_LIMIT",
    "Email",
    "Id",
    "IdList",
    "Metadata",
    "QueryText",
    "Text",
    "check_metadata",
    "metadata_bytes",
    "metadata_depth",
]

FIELD_LIMIT = "field_limit"
"""Error type of a broken limit; its message reads after "Field '<path>' "."""

Text = Annotated[StrictStr, Field(max_length=MAX_TEXT_CHARS)]
Email = Annotated[StrictStr, Field(max_length=MAX_EMAIL_CHARS)]
Id = Annotated[StrictStr, Field(max_length=MAX_ID_CHARS)]
IdList = Annotated[list[Id], Field(max_length=MAX_LIST_ITEMS)]
QueryText = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
"""Text in a query string: values arrive as ``str`` and are not strict."""


def metadata_depth(value: Any, limit: int) -> int:
    """Nesting levels of ``value`` (an object is level 1), counted up to ``limit + 1`` at most.

    Iterative and stopping early, so a hostile nesting depth costs no recursion.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if not isinstance(item, dict | list):
            continue
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children)
    return deepest


def metadata_bytes(value: Any) -> int:
    """Size of ``value`` as compact UTF-8 JSON, the measure of ``MAX_METADATA_BYTES``."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return len(text.encode("utf-8", "surrogatepass"))


def check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    """Enforce the metadata limits: nesting depth and size as compact UTF-8 JSON."""
    if metadata_depth(value, MAX_METADATA_DEPTH) > MAX_METADATA_DEPTH:
        raise PydanticCustomError(
            FIELD_LIMIT,
            "must be nested at most {depth} levels deep",
            {"depth": MAX_METADATA_DEPTH},
        )
    if metadata_bytes(value) > MAX_METADATA_BYTES:
        raise PydanticCustomError(
            FIELD_LIMIT,
            "must be at most {size} bytes of JSON",
            {"size": MAX_METADATA_BYTES},
        )
    return value


Metadata = Annotated[
    dict[str, Any],
    AfterValidator(check_metadata),
    Field(
        description=(
            f"Free-form object: at most {MAX_METADATA_DEPTH} levels deep and "
            f"{MAX_METADATA_BYTES} bytes as compact JSON; numbers finite and within the "
            '64-bit range. An update is merged (a key set to "" is removed).'
        )
    ),
]
