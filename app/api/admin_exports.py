"""``/admin/customers/export``: the customers matching the list's filters, as a file.

- ``GET /admin/customers/export`` streams the file (chunked, a chunk per page of customers):
  a read, so a ``read`` key may export;
- ``POST /admin/customers/export`` (Medusa's newest admin API) runs the same export as a
  background job (``customer_export``) and answers 202 at once; ``GET
  /admin/customers/exports/{id}`` follows it and ``…/file`` downloads the file once done.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Generator, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, url_for
from pydantic import ValidationError

from app.api.downloads import file_chunks
from app.api.openapi import documented
from app.api.parsing import invalid_request, parse_query, read_json
from app.api.schemas.exports import EXPORT_PARAMS, AdminCustomerExportQuery, ExportJobResponse
from app.auth import created_by, require_admin
from app.errors import Conflict, InvalidData, Unavailable, quote
from app.input_checks import check_storable
from app.jobs import customer_export
from app.runtime import Runtime
from app.service.methods.exports import CustomerExport
from app.webapp import get_jobs, get_service, run, runtime_of

bp = Blueprint("admin_exports", __name__, url_prefix="/admin/customers")
bp.before_request(require_admin)

LABEL = "Export"  # what a 404 calls an export job
MAX_STREAMS = 2
"""Streamed exports one process serves at once: each holds a server thread for as long as its
client reads, and ``serve`` has 8; more get 503 (the job route has no such limit)."""
_streams = threading.BoundedSemaphore(MAX_STREAMS)

FILES = {
    "application/x-ndjson": "`format=jsonl`: our JSONL (groups, then customers)",
    "text/csv": "`format=csv` (our CSV) or `format=shopify` (Shopify's customer CSV)",
    "application/gzip": "`gzip=true`: the same file, gzipped",
}


def _filters(query: AdminCustomerExportQuery) -> dict[str, Any]:
    """The customer filters of an export request (JSON-able: they may be a job's params)."""
    filters = query.model_dump(
        mode="json", by_alias=True, exclude_unset=True, exclude=set(EXPORT_PARAMS)
    )
    if filters.get("q") == "":
        filters.pop("q")
    return filters


def _file_name(extension: str, at: datetime | None = None) -> str:
    """``customers-20261130T045500Z.jsonl``."""
    return f"customers-{(at or datetime.now(UTC)).strftime('%Y%m%dT%H%M%SZ')}.{extension}"


def _attachment(name: str) -> str:
    return f'attachment; filename="{name}"'


async def _next(chunks: AsyncIterator[bytes]) -> bytes | None:
    """The next chunk, or ``None`` at the end."""
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None


def _streamed(runtime: Runtime, export: CustomerExport) -> Generator[bytes, None, None]:
    """The export's chunks for a WSGI server thread, each read on the runtime's loop; a client
    that goes away closes the export (the server closes this generator)."""
    chunks = aiter(export)
    try:
        while (chunk := runtime.run(_next(chunks))) is not None:
            if chunk:
                yield chunk
    finally:
        _streams.release()
        runtime.run(export.aclose())


@bp.get("/export")
@documented(
    summary="Export customers as a file (streamed)",
    query=AdminCustomerExportQuery,
    download=FILES,
    auth="admin",
)
def export_customers() -> Response:
    """The customers matching the list's filters (``q``, ``groups``, ``has_account``,
    ``created_at`` …), in ``_id`` order, as ``format``: ``jsonl`` (our restore format: every
    group first, then a line per customer), ``csv`` (a row per address) or ``shopify``.
    Streamed with constant memory; a customer created or deleted meanwhile is in the file once
    or not at all. ``with_deleted`` adds soft-deleted customers (and groups, in JSONL)."""
    query = parse_query(AdminCustomerExportQuery)
    runtime = runtime_of(current_app)
    export = run(
        get_service().export_customers(
            _filters(query), format=query.format, with_deleted=query.with_deleted, gzip=query.gzip
        )
    )
    if not _streams.acquire(blocking=False):
        run(export.aclose())
        raise Unavailable(
            f"{MAX_STREAMS} exports are being streamed already; retry shortly, or run the "
            "export as a job (POST /admin/customers/export)",
            retry_after=5,
        )
    chunks = _streamed(runtime, export)
    first = next(chunks, b"")  # a failure before the first byte is still a JSON error answer

    def body() -> Iterator[bytes]:
        yield first
        yield from chunks

    response = Response(body(), content_type=export.media_type)
    response.headers["Content-Disposition"] = _attachment(_file_name(export.extension))
    response.call_on_close(chunks.close)  # also when the body was never read (HEAD, errors)
    return response


def _job_answer(view: dict[str, Any]) -> dict[str, Any]:
    """``{transaction_id, job, file}``: Medusa's transaction id is the job's id."""
    file = url_for("admin_exports.export_job_file", job_id=view["id"])
    return {"transaction_id": view["id"], "job": view, "file": file}


def _export_body() -> AdminCustomerExportQuery:
    """The body of ``POST /admin/customers/export``: the list's filters and the options, as
    JSON (``{"has_account": true, "groups": ["cusgroup_…"], "format": "csv"}``)."""
    data = read_json()
    if not isinstance(data, dict):
        raise InvalidData("Invalid request: Expected type: 'object' for the request body")
    try:
        body = AdminCustomerExportQuery.model_validate(data)
    except ValidationError as exc:
        raise invalid_request(exc) from None
    check_storable(data)
    return body


@bp.post("/export")
@documented(
    summary="Export customers as a background job (Medusa's asynchronous export)",
    body=AdminCustomerExportQuery,
    response=ExportJobResponse,
    status=202,
    auth="admin",
)
async def submit_export() -> tuple[dict[str, Any], int]:
    """Start the same export as ``GET /admin/customers/export`` as a job; answers 202 at once
    with the job (``transaction_id`` is its id) and the URL its file will be downloadable
    from. A restart of the server while it runs ends it ``failed``: ask again."""
    body = _export_body()
    filters = _filters(body)
    probe = await get_service().export_customers(filters, format=body.format)  # checks them
    await probe.aclose()
    params = {
        "filters": filters,
        "format": body.format.value,
        "with_deleted": body.with_deleted,
        "gzip": body.gzip,
    }
    jobs = get_jobs()
    job_id, _ = jobs.reserve(customer_export.KIND)
    view = await jobs.submit(job_id, customer_export.KIND, params, created_by=created_by())
    return _job_answer(view), 202


@bp.get("/exports/<job_id>")
@documented(summary="Follow an export job", response=ExportJobResponse, auth="admin")
async def export_job(job_id: str) -> dict[str, Any]:
    """The export job's state and progress, and the URL of its file."""
    return _job_answer(await get_jobs().find(job_id, kind=customer_export.KIND, label=LABEL))


@bp.get("/exports/<job_id>/file")
@documented(
    summary="Download an export job's file",
    download=FILES,
    auth="admin",
    responses={409: "The export has not succeeded (yet): see its `state` (`conflict`)"},
)
def export_job_file(job_id: str) -> Response:
    """The file of a finished export; 409 while it is queued or running (or when it failed)."""
    jobs = get_jobs()
    view = run(jobs.find(job_id, kind=customer_export.KIND, label=LABEL))
    path = customer_export.export_file(jobs.directory(job_id), view["result"])
    if view["state"] != "succeeded" or path is None:
        raise Conflict(f"Export {quote(job_id)} has no file to download: it is {view['state']}")
    finished = datetime.fromisoformat(view["finished_at"].replace("Z", "+00:00"))
    extension = path.name.removeprefix(f"{customer_export.FILE_STEM}.")
    response = Response(file_chunks(path), mimetype=view["result"]["media_type"])
    response.headers["Content-Length"] = str(path.stat().st_size)
    response.headers["Content-Disposition"] = _attachment(_file_name(extension, finished))
    return response
