"""A job's stored document and the view routes answer with."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from app.dataio.layout import format_date
from app.ids import new_id

__all__ = ["MAX_ERRORS_KEPT", "TERMINAL", "JobState", "new_job_id", "view"]

MAX_ERRORS_KEPT = 20
"""A job's document keeps its first errors only; the handler writes the rest to a file."""


class JobState(StrEnum):
    """Where a job is: queued → running → succeeded | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})

_VIEW_KEYS = ("kind", "state", "params", "progress", "counts", "errors", "error", "result",
              "created_by")  # fmt: skip
_DATES = ("created_at", "started_at", "finished_at")


def new_job_id() -> str:
    """``job_…``: a prefixed ULID like every other id of the service."""
    return new_id("job")


def view(doc: dict[str, Any]) -> dict[str, Any]:
    """The JSON view of a stored job (its lease and checkpoint are the runner's business)."""
    out: dict[str, Any] = {"id": doc["_id"]}
    out.update({key: doc.get(key) for key in _VIEW_KEYS})
    out.update({key: _date(doc.get(key)) for key in _DATES})
    return out


def _date(value: Any) -> str | None:
    return format_date(value) if isinstance(value, datetime) else None
