"""Request and response models of the import routes (``/admin/customers/imports``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.api.schemas.jobs import JobProgress, JobView
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


class ImportProgressOut(JobProgress):
    done: int = Field(description="Rows done.")
    total: int | None = Field(description="Rows in the file, estimated from the bytes read.")


class ImportJobOut(JobView):
    """An import job: where it is, what it did so far, and its first errors."""

    kind: Literal["customer_import"]
    progress: ImportProgressOut
    counts: dict[str, int] = Field(
        description="`created`, `updated`, `unchanged`, `failed` rows; `groups_created`."
    )
    errors: list[ImportRowErrorOut] = Field(description="The first 20 failed rows.")
    error: str | None = Field(description="Why the job failed (the file, not a row).")
    errors_url: str | None = Field(
        description="The full error report (every failed row, in the file's layout, with its "
        "line, field and message: fix it and import it), once a row failed."
    )
