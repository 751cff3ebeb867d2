"""The value types and bases of the HTTP models: what a field of each kind accepts over HTTP.

Bodies are strict (no coercion, unknown keys rejected), as Medusa's zod schemas. Query models
read the nested strings of ``querystring.parse_pairs``: numbers and booleans arrive as strings
and are parsed here. Filters whose value may be a string, a list or an operator map are tagged
unions picked by the value's shape (``TextFilter`` and friends), so a wrong shape gets one
clear message instead of one per member.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
)
from pydantic_core import PydanticCustomError

from app import bounded
from app.bounded import QueryText
from app.limits import MAX_LIST_ITEMS, MAX_Q_CHARS, MAX_Q_WORDS

__all__ = [
    "DateOperators",
    "DerivedQuery",
    "Email",
    "ListFilter",
    "QueryBool",
    "QueryInt",
    "QueryList",
    "SearchText",
    "StringOperators",
    "TextFilter",
    "optional",
    "relation_filter",
]

# `q`: the limits are enforced by the service (app.textsearch.check_q, one message for every
# caller); here they are declared for the OpenAPI document.
SearchText = Annotated[
    str,
    Field(
        description=(
            f"Words to find (every word must match): at most {MAX_Q_CHARS} characters "
            f"and {MAX_Q_WORDS} words."
        ),
        json_schema_extra={"maxLength": MAX_Q_CHARS},
    ),
]

# The email regex of zod (Medusa's validator), so exactly the addresses Medusa accepts pass.
_EMAIL = re.compile(
    r"^(?!\.)(?!.*\.\.)([A-Z0-9_'+\-.]*)[A-Z0-9_+-]@([A-Z0-9][A-Z0-9\-]*\.)+[A-Z]{2,}$",
    re.IGNORECASE,
)


def _check_email(value: str) -> str:
    if not _EMAIL.match(value.strip()):
        raise PydanticCustomError("invalid_email", "Invalid email")
    return value


def _not_nullable(schema: dict[str, Any]) -> None:
    """An optional field that may be left out but never sent as null: no ``default: null``."""
    schema.pop("default", None)


Email = Annotated[
    bounded.Email, AfterValidator(_check_email), Field(json_schema_extra={"format": "email"})
]


def optional() -> Any:
    """The default of an optional, non-nullable field."""
    return Field(None, json_schema_extra=_not_nullable)


# --- query strings ---------------------------------------------------------------------------


def _parse_bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise PydanticCustomError("invalid_input", "Invalid input")
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _shape(value: Any) -> str | None:
    if isinstance(value, str):
        return "~string"
    if isinstance(value, list):
        return "~array"
    if isinstance(value, dict | BaseModel):
        return "~object"
    return None


QueryBool = Annotated[bool, BeforeValidator(_parse_bool)]
QueryInt = Annotated[int, Field(ge=0)]
QueryList = Annotated[list[QueryText], Field(max_length=MAX_LIST_ITEMS)]
StrList = Annotated[QueryList, BeforeValidator(_as_list)]
DateList = Annotated[list[datetime], Field(max_length=MAX_LIST_ITEMS), BeforeValidator(_as_list)]


class Query(BaseModel):
    """Base of the query-string models: unknown keys refused, operators by their alias."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DerivedQuery(Query):
    """What type checkers see of a query model built from the declarations: its fields are
    only known at run time."""

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


class StringOperators(Query):
    """Operators on a text field."""

    eq: QueryText | None = Field(None, alias="$eq")
    ne: QueryText | None = Field(None, alias="$ne")
    in_: StrList | None = Field(None, alias="$in")
    nin: StrList | None = Field(None, alias="$nin")
    like: QueryText | None = Field(None, alias="$like")
    ilike: QueryText | None = Field(None, alias="$ilike")
    gt: QueryText | None = Field(None, alias="$gt")
    gte: QueryText | None = Field(None, alias="$gte")
    lt: QueryText | None = Field(None, alias="$lt")
    lte: QueryText | None = Field(None, alias="$lte")


class DateOperators(Query):
    """Operators on a timestamp (ISO 8601 values)."""

    eq: datetime | None = Field(None, alias="$eq")
    ne: datetime | None = Field(None, alias="$ne")
    in_: DateList | None = Field(None, alias="$in")
    nin: DateList | None = Field(None, alias="$nin")
    gt: datetime | None = Field(None, alias="$gt")
    gte: datetime | None = Field(None, alias="$gte")
    lt: datetime | None = Field(None, alias="$lt")
    lte: datetime | None = Field(None, alias="$lte")


TextFilter = Annotated[
    Annotated[QueryText, Tag("~string")]
    | Annotated[QueryList, Tag("~array")]
    | Annotated[StringOperators, Tag("~object")],
    Discriminator(_shape),
]
ListFilter = Annotated[
    Annotated[QueryText, Tag("~string")] | Annotated[QueryList, Tag("~array")],
    Discriminator(_shape),
]


def relation_filter(model: type[BaseModel]) -> Any:
    """A relation filter's value: an id, a list of ids, or a filter on the related entity."""
    return Annotated[
        Annotated[QueryText, Tag("~string")]
        | Annotated[QueryList, Tag("~array")]
        | Annotated[model, Tag("~object")],
        Discriminator(_shape),
    ]
