"""The view of a background job (:mod:`app.jobs`) as routes answer it, for the OpenAPI
document (the view itself is built by ``app.jobs.model.view``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

__all__ = ["JobProgress", "JobView"]


class JobProgress(BaseModel):
    """How far a job is: ``done`` of ``total`` (``null`` while unknown)."""

    done: int
    total: int | None


class JobView(BaseModel):
    """A background job: its state, progress, first errors and result."""

    id: str
    kind: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    params: dict[str, Any]
    progress: JobProgress
    counts: dict[str, int]
    errors: list[Any]
    error: str | None
    result: dict[str, Any] | None
    created_by: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
