"""Response models of the HTTP API (documentation: the views project service DTOs onto them).

The entity shapes come from the declarations (every public field; which ones a response
carries depends on ``fields``); the envelopes and the operational answers are written here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.derive import Out, out_model
from app.entities import ADDRESS, CUSTOMER, GROUP

__all__ = [
    "AddressList",
    "AddressOut",
    "AddressResponse",
    "CustomerList",
    "CustomerOut",
    "CustomerResponse",
    "CustomerSearchHitOut",
    "CustomerSearchResponse",
    "DeleteResponse",
    "ErrorResponse",
    "GroupList",
    "GroupOut",
    "GroupResponse",
    "GroupSummaryOut",
    "HealthResponse",
    "MeResponse",
    "ReadinessCheck",
    "ReadinessResponse",
    "UnauthorizedResponse",
]

if TYPE_CHECKING:  # built at import time from the declarations; type checkers see the base
    AddressOut = Out
    GroupSummaryOut = Out
    CustomerOut = Out
    GroupOut = Out
else:
    AddressOut = out_model(
        "AddressOut", ADDRESS, doc="An address (which fields appear depends on ``fields``)."
    )
    GroupSummaryOut = out_model(
        "GroupSummaryOut", GROUP, doc="A group as listed on a customer (``fields=*groups``)."
    )
    CustomerOut = out_model(
        "CustomerOut",
        CUSTOMER,
        relations={"addresses": AddressOut, "groups": GroupSummaryOut},
        doc="A customer; ``addresses`` / ``groups`` appear with ``fields=*addresses`` / "
        "``*groups``.",
    )
    GroupOut = out_model(
        "GroupOut",
        GROUP,
        base=GroupSummaryOut,
        relations={"customers": CustomerOut},
        doc="A customer group; ``customers`` appears with ``fields=*customers``.",
    )


class CustomerResponse(BaseModel):
    """``{customer}``."""

    customer: CustomerOut


class CustomerSearchHitOut(BaseModel):
    """One ranked hit: ``score`` is null when MongoDB answered (index unavailable)."""

    customer: CustomerOut
    score: float | None = None
    highlights: dict[str, list[tuple[int, int]]] = Field(
        default={},
        description=(
            "The parts that matched: field → sorted, merged `[start, end)` ranges in characters "
            "(Unicode code points) of the field's value as returned in `customer`."
        ),
    )


class CustomerSearchResponse(BaseModel):
    """``{hits, count, took_ms}``: best hits first."""

    hits: list[CustomerSearchHitOut]
    count: int
    took_ms: float


class GroupResponse(BaseModel):
    """``{customer_group}``."""

    customer_group: GroupOut


class AddressResponse(BaseModel):
    """``{address}``."""

    address: AddressOut


class _Page(BaseModel):
    count: int
    offset: int
    limit: int


class CustomerList(_Page):
    """``{customers, count, offset, limit}``."""

    customers: list[CustomerOut]


class GroupList(_Page):
    """``{customer_groups, count, offset, limit}``."""

    customer_groups: list[GroupOut]


class AddressList(_Page):
    """``{addresses, count, offset, limit}``."""

    addresses: list[AddressOut]


class DeleteResponse(BaseModel):
    """``{id, object, deleted: true[, parent]}``."""

    id: str
    object: Literal["customer", "customer_group", "customer_address", "address"]
    deleted: Literal[True]
    parent: CustomerOut | None = None


class ErrorResponse(BaseModel):
    """Every error except 401: ``{type, message}``."""

    type: str
    message: str


class UnauthorizedResponse(BaseModel):
    """401: ``{message: "Unauthorized"}``."""

    message: Literal["Unauthorized"]


class MeResponse(BaseModel):
    """``GET /admin/me``: who the credentials are and what they may do."""

    scope: Literal["admin", "read"] = Field(
        description="`admin`: every admin route; `read`: GET (and HEAD, OPTIONS) routes only."
    )
    actor_type: Literal["api_key", "user"]
    actor_id: str = Field(description="The API key's id (`apk_…`) or the user token's actor.")
    expires_at: datetime | None = Field(
        description="When the key (or token) stops being accepted; null: never (until revoked)."
    )


class HealthResponse(BaseModel):
    """``GET /health``: liveness only (the process answers)."""

    status: Literal["ok"]


class ReadinessCheck(BaseModel):
    """One check of ``GET /health/ready``; checks add details (``ms``, ``lag_s``, ...)."""

    model_config = ConfigDict(extra="allow")

    ok: bool
    error: str | None = None


class ReadinessResponse(BaseModel):
    """``GET /health/ready``: 200 when every check is ok; 503 adds ``type`` and ``message``."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, ReadinessCheck]
    type: str | None = None
    message: str | None = None
