"""Request and response models of the duplicate routes (lookup, scan jobs, their clusters)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.jobs import JobProgress, JobView
from app.api.schemas.requests import FieldsQuery
from app.api.schemas.responses import CustomerOut
from app.api.schemas.values import Query, QueryInt
from app.limits import MAX_LIST_LIMIT
from app.service.methods.duplicates import MAX_DUPLICATES

__all__ = [
    "ClusterOut",
    "ClusterPage",
    "ClustersQuery",
    "DuplicateOut",
    "DuplicatesQuery",
    "DuplicatesResponse",
    "ScanBody",
    "ScanJobResponse",
]

MinScore = Annotated[
    float,
    Field(
        ge=0,
        le=1,
        description="Pairs scoring at least this are duplicates (default: the configured "
        "threshold, `CUSTOMERS_DUPLICATES_MIN_SCORE`, 0.6 unless set).",
    ),
]


class DuplicatesQuery(FieldsQuery):
    """``GET /admin/customers/{id}/duplicates``."""

    min_score: MinScore | None = None
    limit: Annotated[QueryInt, Field(ge=1, le=MAX_DUPLICATES)] = 20


class DuplicateOut(BaseModel):
    """A likely duplicate: the other customer, the pair's score in [0, 1], and why."""

    customer: CustomerOut
    score: float
    reasons: list[str] = Field(
        description='Evidence, strongest first: "same email", "same phone", "name 0.93", '
        '"same postcode and street", … (negative evidence too: "different first names").'
    )


class DuplicatesResponse(BaseModel):
    """``{duplicates}``, best first."""

    duplicates: list[DuplicateOut]


class ScanBody(BaseModel):
    """``POST /admin/customers/duplicates/scans``: the threshold (optional)."""

    model_config = ConfigDict(extra="forbid")

    min_score: MinScore | None = None


class ScanJobResponse(JobView):
    """A duplicate scan job. ``result`` (once succeeded): ``{clusters, customers, min_score}``."""

    kind: Literal["duplicate_scan"]
    progress: JobProgress = Field(
        description="`done` of `total` steps: reading the customers is the first half, "
        "comparing them the second."
    )


class ClustersQuery(Query):
    """``GET /admin/customers/duplicates/scans/{id}/clusters``."""

    offset: QueryInt = 0
    limit: Annotated[QueryInt, Field(ge=1, le=MAX_LIST_LIMIT)] = 50


class ClusterOut(BaseModel):
    """Customers that are likely one person; ``score`` is the weakest link's."""

    customer_ids: list[str]
    score: float
    reasons: list[str]


class ClusterPage(BaseModel):
    """``{clusters, count, offset, limit}``: highest score first."""

    clusters: list[ClusterOut]
    count: int
    offset: int
    limit: int
