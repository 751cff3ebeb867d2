"""Turn pydantic validation errors into Medusa's messages.

Medusa validates with zod and reports, e.g.::

    Invalid request: Unrecognized fields: 'a, b'
    Invalid request: Expected type: 'string' for field 'first_name', got: 'number'
    Invalid request: Field 'name' is required
    Invalid request: Invalid email

with at most three issues joined by "; ". The service layer and the HTTP layer both validate
with pydantic models and report through :func:`invalid_data_from`, so one wording serves both.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.errors import InvalidData

__all__ = [
    "MAX_DEPTH",
    "MAX_ISSUES",
    "check_storable",
    "describe_issues",
    "invalid_data_from",
    "js_type",
    "validate",
]

MAX_ISSUES = 3
MAX_DEPTH = 32  # nesting levels any input may have (metadata included)
_INT64 = (-(2**63), 2**63 - 1)

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
    "float_type": "number",
    "float_parsing": "number",
    "datetime_type": "date",
    "datetime_parsing": "date",
    "datetime_from_date_parsing": "date",
}


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


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def describe_issues(exc: ValidationError) -> list[str]:
    """Return one Medusa-style sentence per issue (unrecognised keys merged into one)."""
    unknown: list[str] = []
    issues: list[str] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            unknown.append(str(loc[-1]) if loc else "")
        elif kind == "missing":
            issues.append(f"Field '{_field(loc)}' is required")
        elif kind in _EXPECTED:
            issues.append(
                f"Expected type: '{_EXPECTED[kind]}' for field '{_field(loc)}', "
                f"got: '{js_type(error.get('input'))}'"
            )
        elif kind == "value_error" and "email" in str(error.get("msg", "")).lower():
            issues.append("Invalid email")
        else:
            message = str(error.get("msg", "Invalid input"))
            message = message.removeprefix("Value error, ")
            issues.append(f"{message} for field '{_field(loc)}'" if loc else message)
    if unknown:
        issues.insert(0, f"Unrecognized fields: '{', '.join(unknown)}'")
    return issues


def invalid_data_from(exc: ValidationError) -> InvalidData:
    """Return the ``invalid_data`` error for a pydantic ``ValidationError``."""
    issues = describe_issues(exc) or ["Invalid input"]
    return InvalidData("Invalid request: " + "; ".join(issues[:MAX_ISSUES]))


def _unstorable(value: Any, path: str, depth: int) -> str | None:
    """Why ``value`` cannot be stored in BSON as given, or ``None`` when it can."""
    if depth > MAX_DEPTH:
        return f"Field '{path}' is nested too deeply"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"Field '{path}' contains invalid characters"
        if "\x00" in value:
            return f"Field '{path}' contains a NUL character"
    elif isinstance(value, int) and not isinstance(value, bool):
        if not _INT64[0] <= value <= _INT64[1]:
            return f"Field '{path}' is a number too large to store"
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"Field '{path}' has a non-string key"
            where = f"{path}.{key}" if path else key
            if key.startswith("$"):
                return f"Field '{where}' may not start with '$'"
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
    """Reject input MongoDB could not store or would read as an operator.

    Lone surrogates, NUL characters, integers beyond 64 bits, ``$``-prefixed keys and absurd
    nesting would otherwise surface as driver errors (a 500) instead of ``invalid_data``.
    """
    problem = _unstorable(value, path, 0)
    if problem:
        raise InvalidData(f"Invalid request: {problem}")


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
