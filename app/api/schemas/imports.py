"""Request and response models of the import routes (``/admin/customers/imports``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.schemas.values import Query, QueryBool

__all__ = ["ImportJobOut", "ImportOptions", "ImportRowErrorOut"]


class ImportOptions(Query):
    """How to import the uploaded file (query string, or fields of a multipart body)."""

    format: Literal["jsonl", "csv", "shopify"] | None = Field(
        default=None, description="The file's layout; default: told from its first line."
    )
    mode: Literal["create", "upsert", "update"] = Field(
        default="upsert",
        description="`create`: rows matching a customer fail; `update`: rows matching none "
        "fail; `upsert`: both are fine.",
    )
    dry_run: QueryBool = Field(default=False, description="Validate and count; write nothing.")


class ImportRowErrorOut(BaseModel):
    """A failed row: its line in the file, the failing field (its column) and why."""

    line: int
    field: str
    message: str


class ImportProgressOut(BaseModel):
    done: int = Field(description="Rows done.")
    total: int | None = Field(description="Rows in the file, estimated from the bytes read.")


class ImportJobOut(BaseModel):
    """An import job: where it is, what it did so far, and its first errors."""

    id: str
    kind: Literal["customer_import"]
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    params: dict[str, Any]
    progress: ImportProgressOut
    counts: dict[str, int] = Field(
        description="`created`, `updated`, `unchanged`, `failed` rows; `groups_created`."
    )
    errors: list[ImportRowErrorOut] = Field(description="The first 20 failed rows.")
    error: str | None = Field(description="Why the job failed (the file, not a row).")
    result: dict[str, Any] | None
    created_by: str | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    errors_url: str | None = Field(
        description="The full error report (every failed row, in the file's layout, with its "
        "line, field and message: fix it and import it), once a row failed."
    )
