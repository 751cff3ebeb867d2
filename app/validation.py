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

__all__ = ["MAX_ISSUES", "describe_issues", "invalid_data_from", "js_type", "validate"]

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


def validate(model: type[M], data: Any) -> M:
    """Validate ``data`` against ``model``, raising ``InvalidData`` with Medusa's wording."""
    if isinstance(data, model):
        return data
    if not isinstance(data, dict):
        raise InvalidData(f"Invalid request: Expected type: 'object', got: '{js_type(data)}'")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_data_from(exc) from None
