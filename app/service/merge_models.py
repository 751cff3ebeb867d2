"""The merge's input and report models, and which customer fields it merges (read from the
declarations). The rules deciding the values are :mod:`app.service.survivorship`'s.

Pure: the service, its HTTP routes (the request body's ``keep``, the report) and the tests
share these models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.bounded import Id
from app.entities import CUSTOMER, Kind
from app.entities import Field as Declared
from app.limits import MAX_MERGE_CUSTOMERS

__all__ = [
    "DEFAULT_KEYS",
    "KEEPABLE",
    "MERGEABLE",
    "AddressOutcome",
    "FieldConflict",
    "Keep",
    "MembershipOutcome",
    "MergeReport",
    "MergeRequest",
    "MergedSource",
    "MetadataConflict",
    "Rule",
    "ValueFrom",
]

MERGEABLE: tuple[Declared, ...] = tuple(
    f for f in CUSTOMER.public if not f.system and f.kind is not Kind.METADATA
)
"""The customer fields a merge chooses a value for (metadata is merged key by key)."""
KEEPABLE: tuple[str, ...] = (
    *(f.name for f in MERGEABLE if f.name != "has_account"),
    *(f.name for f in CUSTOMER.public if f.kind is Kind.METADATA),
)
"""The fields ``keep`` may name a customer for (``has_account`` follows the accounts)."""
DEFAULT_KEYS = {
    "is_default_shipping": "default_shipping_address_id",
    "is_default_billing": "default_billing_address_id",
}
"""``keep``'s key naming the address that gets each default flag."""

Rule = Literal["keep", "account beats guest", "most recently updated"]

# --- input -----------------------------------------------------------------------------------

_STRICT = ConfigDict(extra="forbid", strict=True)

if TYPE_CHECKING:  # built at import time from the declarations; type checkers see the base
    Keep = BaseModel
else:
    Keep = create_model(
        "MergeKeep",
        __config__=_STRICT,
        __doc__="Whose value the merge keeps: a customer id per field, an address id per default.",
        **{name: (Id | None, None) for name in (*KEEPABLE, *DEFAULT_KEYS.values())},
    )


class MergeRequest(BaseModel):
    """A merge: the customers folded into the target, and whose values to keep."""

    model_config = _STRICT

    customer_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_MERGE_CUSTOMERS)]
    keep: Keep | None = None


# --- the report ------------------------------------------------------------------------------


class ValueFrom(BaseModel):
    """One customer's value of a field (or metadata key)."""

    customer_id: str
    value: Any


class FieldConflict(BaseModel):
    """A field the customers disagree on, every non-empty value, and the one kept."""

    field: str
    values: list[ValueFrom]
    winner: str = Field(description="The customer whose value the result has.")
    rule: Rule


class MetadataConflict(BaseModel):
    """A metadata key the customers hold with different values, and whose value is kept."""

    key: str
    values: list[ValueFrom]
    winner: str


class AddressOutcome(BaseModel):
    """Where one live address of a merged customer ends up."""

    id: str
    from_customer_id: str
    outcome: Literal["kept", "moved", "collapsed"]
    collapsed_into: str | None = Field(
        default=None, description="For a collapsed address: the equal address kept instead."
    )


class MembershipOutcome(BaseModel):
    """Where one group membership of a merged customer ends up."""

    id: str
    customer_group_id: str
    from_customer_id: str
    outcome: Literal["kept", "moved", "already_member"]


class MergedSource(BaseModel):
    """A source and the customer it is (or would be) merged into."""

    id: str
    merged_into: str


class MergeReport(BaseModel):
    """What a merge does (or did): everything but the resulting customer."""

    merged: list[MergedSource]
    conflicts: list[FieldConflict] = []
    metadata_conflicts: list[MetadataConflict] = []
    addresses: list[AddressOutcome] = []
    memberships: list[MembershipOutcome] = []
    default_shipping_address_id: str | None = None
    default_billing_address_id: str | None = None
    already_merged: bool = Field(
        default=False,
        description="Every source was already merged into the target (a retry): nothing was "
        "written, and the details above are empty.",
    )
