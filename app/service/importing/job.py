"""The import as a background job: the file uploaded into the job's directory, imported by
:func:`run_import_job`, resumable after a restart from the rows it reported done.

The checkpoint holds the rows done, the counts so far and the error file's length then: a
resumed job truncates the error file to that length and skips those rows, so the error file
and the counts come out as if the job had never stopped (rows done after the checkpoint but
before the stop are done again: they are found unchanged).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.dataio.errorfile import error_file_name
from app.dataio.layout import Format
from app.service.importing.engine import ImportCounts, ImportProgress

if TYPE_CHECKING:
    from app.jobs import JobContext

__all__ = ["IMPORT_JOB", "UPLOAD_NAME", "errors_name", "run_import_job"]

IMPORT_JOB = "customer_import"
UPLOAD_NAME = "upload"  # the uploaded file, in the job's directory


def errors_name(params: dict[str, Any]) -> str:
    """The error file's name in the job's directory."""
    return error_file_name(Format(params["format"]))


async def run_import_job(ctx: JobContext) -> dict[str, Any]:
    """Import the job's upload with the job's parameters; the report is the job's result."""
    params = dict(ctx.params)
    checkpoint = ctx.checkpoint or {}
    skip = int(checkpoint.get("rows", 0))
    before = ImportCounts(**checkpoint.get("counts", {}))
    errors_path = ctx.directory / errors_name(params)
    _cut(errors_path, int(checkpoint.get("error_bytes", 0)) if skip else 0)
    upload = ctx.directory / UPLOAD_NAME
    with upload.open("rb") as source, errors_path.open("a", encoding="utf-8", newline="") as out:
        size = upload.stat().st_size

        async def progress(step: ImportProgress) -> None:
            counts = _sum(before, step.counts)
            total = round(step.rows * size / step.position) if step.position else None
            await ctx.report(
                done=step.rows,
                total=max(total or 0, step.rows) or None,
                counts=counts.as_dict(),
                errors=[error.as_dict() for error in step.errors],
                checkpoint={
                    "rows": step.rows,
                    "counts": counts.as_dict(),
                    "error_bytes": out.tell(),
                },
            )

        report = await ctx.service.import_customers(
            source,
            format=params["format"],
            mode=params.get("mode", "upsert"),
            dry_run=bool(params.get("dry_run")),
            error_file=out,
            progress=progress,
            actor=params.get("actor"),
            source_name=params.get("source_name"),
            skip=skip,
        )
        failed_bytes = out.tell()
    counts = _sum(before, report.counts)
    await ctx.report(done=report.rows, total=report.rows, counts=counts.as_dict(), force=True)
    return {
        "format": report.format,
        "rows": report.rows,
        "dry_run": report.dry_run,
        "counts": counts.as_dict(),
        "has_errors": counts.failed > 0 and failed_bytes > 0,
    }


def _cut(path: Path, length: int) -> None:
    """Truncate the error file to what it held at the checkpoint (or empty it)."""
    if path.exists():
        os.truncate(path, min(length, path.stat().st_size))


def _sum(before: ImportCounts, now: ImportCounts) -> ImportCounts:
    return ImportCounts(**{k: v + getattr(now, k) for k, v in before.as_dict().items()})
