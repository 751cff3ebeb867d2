"""The ``customer_export`` job: the streaming export of ``export_customers``, into a file.

Not resumable: an export interrupted by a restart ends ``failed`` (the runner says why) and
is simply asked for again. The file is written under a temporary name and renamed when
complete, so a failed or cancelled export never leaves a partial file to download.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import IO, Any

from app.jobs.context import JobContext
from app.jobs.registry import register

__all__ = ["KIND", "export_file"]

KIND = "customer_export"
FILE_STEM = "customers"  # the file in the job's directory: customers.<extension>


def export_file(directory: Path, result: dict[str, Any] | None) -> Path | None:
    """The finished export's file in its job's directory, if there is one."""
    name = (result or {}).get("file")
    if not isinstance(name, str) or "/" in name:
        return None
    path = directory / name
    return path if path.is_file() else None


async def run_export(ctx: JobContext) -> dict[str, Any]:
    """Export what ``ctx.params`` ask for (``filters``, ``format``, ``with_deleted``,
    ``gzip``) into ``customers.<extension>`` in the job's directory."""
    params = ctx.params
    export = await ctx.service.export_customers(
        params.get("filters") or {},
        format=params.get("format", "jsonl"),
        with_deleted=bool(params.get("with_deleted")),
        gzip=bool(params.get("gzip")),
    )
    name = f"{FILE_STEM}.{export.extension}"
    partial = ctx.directory / f".{name}.partial"
    size = 0
    try:
        with partial.open("wb") as out:
            async for chunk in export:
                await _write(out, chunk)
                size += len(chunk)
                await ctx.report(
                    done=export.written, total=export.total, counts={"customers": export.written}
                )
        partial.rename(ctx.directory / name)
    finally:
        await export.aclose()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    written = export.written  # the total was an estimate of every customer stored
    await ctx.report(done=written, total=written, counts={"customers": written}, force=True)
    return {
        "file": name,
        "media_type": export.media_type,
        "customers": export.written,
        "bytes": size,
    }


async def _write(out: IO[bytes], chunk: bytes) -> None:
    """Write off the loop: the runtime's loop also answers requests."""
    await asyncio.to_thread(out.write, chunk)


register(KIND, run_export, resumable=False)
