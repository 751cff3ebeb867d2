"""``/admin/customers/imports``: upload a file to import as a job, follow it, cancel it.

The upload (the file as the body, or the ``file`` part of a multipart form) is streamed to the
job's directory, not held in memory, and bounded by ``CUSTOMERS_IMPORT_MAX_BYTES`` instead of
the JSON body limit (413 past it). Its layout is checked before the job is queued, so a file
that is not one of ours is a 400 at once; the answer is 202 with the job. Admin scope only: a
``read`` key gets 403 on every import route, its GETs included (errors repeat customer data).
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import IO, Any

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.formparser import FormDataParser

from app.api.downloads import file_chunks
from app.api.openapi import documented
from app.api.parsing import parse_query
from app.api.schemas.imports import ImportJobOut, ImportOptions
from app.auth import created_by, current_actor, require_admin
from app.dataio.readers import read_file
from app.dataio.rows import FileError
from app.errors import Forbidden, InvalidData, NotFound, entity_not_found, quote
from app.input_checks import validate
from app.jobs import register
from app.service.importing.job import IMPORT_JOB, UPLOAD_NAME, errors_name, run_import_job
from app.webapp import get_jobs, run, runtime_of

bp = Blueprint("admin_imports", __name__, url_prefix="/admin/customers/imports")
bp.before_request(require_admin)

register(IMPORT_JOB, run_import_job, resumable=True)

CHUNK_BYTES = 64 * 1024  # read from the request per step
LABEL = "Import"  # what a 404 calls an import job
FORM_FIELD_BYTES = 4 * 1024  # a multipart form's text fields (format, mode, dry_run)
FORM_PARTS = 16  # parts of a multipart form
FILE_TYPES = (
    "text/csv",
    "text/plain",
    "application/x-ndjson",
    "application/jsonl",
    "application/gzip",
    "application/x-gzip",
    "application/octet-stream",
)
MULTIPART = "multipart/form-data"
_FILE_SCHEMA = {"schema": {"type": "string", "format": "binary"}}
_UPLOAD = {
    **{media: _FILE_SCHEMA for media in FILE_TYPES},
    MULTIPART: {
        "schema": {
            "type": "object",
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "format": {"type": "string", "enum": ["jsonl", "csv", "shopify"]},
                "mode": {"type": "string", "enum": ["create", "upsert", "update"]},
                "dry_run": {"type": "boolean"},
            },
            "required": ["file"],
        }
    },
}
_ERROR_FILE = {
    "text/csv": "An import of a CSV file: its failed rows with three more columns",
    "application/x-ndjson": "An import of a JSONL file: its failed lines with `import_error`",
}


class UploadTooLarge(Exception):
    """The upload is over ``CUSTOMERS_IMPORT_MAX_BYTES``."""


@bp.errorhandler(UploadTooLarge)
def _too_large(exc: UploadTooLarge) -> tuple[dict[str, str], int]:
    return {"type": "invalid_data", "message": str(exc)}, 413


@bp.before_request
def _admin_scope_only() -> None:
    """Every import route needs the ``admin`` scope, reads included."""
    if request.method != "OPTIONS" and current_actor().scope != "admin":
        raise Forbidden("Imports need an API key with the 'admin' scope")


@bp.post("")
@documented(
    summary="Import customers from a file (a job)",
    query=ImportOptions,
    request_content=_UPLOAD,
    response=ImportJobOut,
    auth="admin",
    status=202,
    responses={413: "The file is larger than `CUSTOMERS_IMPORT_MAX_BYTES` (`invalid_data`)",
               415: "Not a file type the import takes (`invalid_data`)"},
)  # fmt: skip
def create_import() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Upload our JSONL, our CSV or Shopify's customer CSV (gzipped or not) as the body, or as
    the `file` part of a multipart form; answers 202 with the job at once. Follow it at
    `GET /admin/customers/imports/{id}`."""
    options = parse_query(ImportOptions)
    jobs = get_jobs()
    job_id, directory = jobs.reserve(IMPORT_JOB)
    try:
        name, fields = _receive(directory / UPLOAD_NAME)
        if fields:
            options = validate(ImportOptions, {**request.args.to_dict(), **fields})
        params = {
            "format": _layout(directory / UPLOAD_NAME, options.format),
            "mode": options.mode,
            "dry_run": options.dry_run,
            "source_name": name,
            "actor": created_by(),
        }
        job = run(jobs.submit(job_id, IMPORT_JOB, params, created_by=created_by()))
    except BaseException:
        jobs.discard(job_id)
        raise
    location = url_for("admin_imports.retrieve_import", import_id=job_id)
    return _out(job), 202, {"Location": location}


@bp.get("/<import_id>")
@documented(summary="An import job", response=ImportJobOut, auth="admin")
async def retrieve_import(import_id: str) -> dict[str, Any]:
    """State, progress, counts, the first errors and the link to the full error report."""
    return _out(await _job(import_id))


@bp.post("/<import_id>/cancel")
@documented(summary="Cancel an import job", response=ImportJobOut, auth="admin")
async def cancel_import(import_id: str) -> dict[str, Any]:
    """Stop the job after the batch it is writing (rows written stay; running the same file
    again later completes it)."""
    job = await get_jobs().cancel(import_id, kind=IMPORT_JOB)
    if job is None:
        raise entity_not_found(LABEL, import_id)
    return _out(job)


@bp.get("/<import_id>/errors")
@documented(summary="An import job's error report", download=_ERROR_FILE, auth="admin")
def import_errors(import_id: str) -> Response:
    """Every failed row as it was in the file, with its line, field and message (CSV rows
    with three more columns, or JSON lines with an `import_error` key): fix and import it."""
    job_id = import_id
    job = run(_job(job_id))
    name = errors_name(job["params"])
    path = get_jobs().file(job_id, name)
    if path is None:
        raise NotFound(f"Import with id: {quote(job_id)} has no error report yet")
    mimetype = "application/x-ndjson" if name.endswith(".jsonl") else "text/csv"
    disposition = f'attachment; filename="{job_id}-{name}"'
    return Response(
        file_chunks(path),
        mimetype=mimetype,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


async def _job(job_id: str) -> dict[str, Any]:
    return await get_jobs().find(job_id, kind=IMPORT_JOB, label=LABEL)


def _out(job: dict[str, Any]) -> dict[str, Any]:
    """The job's view, with the link to its error report once a row failed."""
    failed = (job.get("counts") or {}).get("failed", 0)
    url = url_for("admin_imports.import_errors", import_id=job["id"]) if failed else None
    return {**job, "errors_url": url}


def _layout(path: Path, format: str | None) -> str:
    """The upload's layout (given, or told from its first line): 400 when it is none of ours."""
    with path.open("rb") as stream:
        try:
            reading = read_file(stream, format)
        except FileError as exc:
            raise InvalidData(f"Invalid request: {exc}") from None
        reading.release()
    return str(reading.format)


def _receive(target: Path) -> tuple[str | None, dict[str, str]]:
    """Stream the request's file into ``target``: the file's name (multipart only) and the
    form's text fields."""
    limit = runtime_of(current_app).settings.import_max_bytes
    request.max_content_length = limit
    too_large = UploadTooLarge(
        f"The file is larger than the {limit} bytes an import may take (CUSTOMERS_IMPORT_MAX_BYTES)"
    )
    try:
        if request.mimetype == MULTIPART:
            return _receive_form(target, limit)
        if request.mimetype not in FILE_TYPES:
            raise UnsupportedMediaType(
                f"An import takes {', '.join(FILE_TYPES)} or {MULTIPART} with a 'file' part"
            )
        with target.open("wb") as out:
            size = _copy(request.stream, out)
    except RequestEntityTooLarge:
        raise too_large from None
    if size == 0:
        raise InvalidData("Invalid request: the file is empty")
    return None, {}


def _copy(stream: IO[bytes], out: IO[bytes]) -> int:
    size = 0
    while chunk := stream.read(CHUNK_BYTES):
        out.write(chunk)
        size += len(chunk)
    return size


def _receive_form(target: Path, limit: int) -> tuple[str | None, dict[str, str]]:
    """A multipart body: its one file part streamed to ``target`` (Werkzeug's parser calls
    the factory for each file part), its text fields returned."""
    opened: list[IO[bytes]] = []

    def factory(*_: Any, **__: Any) -> IO[bytes]:
        if opened:
            raise InvalidData("Invalid request: send one file, in the 'file' part")
        opened.append(target.open("wb"))
        return opened[0]

    parser = FormDataParser(
        stream_factory=factory,
        max_form_memory_size=FORM_FIELD_BYTES,
        max_content_length=limit,
        max_form_parts=FORM_PARTS,
        silent=False,
    )
    try:
        _, form, files = parser.parse(
            request.stream, MULTIPART, request.content_length, request.mimetype_params
        )
    except ValueError:  # Werkzeug's word for a body that is not the multipart it claims
        raise InvalidData(
            "Invalid request: the multipart/form-data body could not be read; send the file "
            "in a 'file' part"
        ) from None
    finally:
        for stream in opened:
            stream.close()
    upload = files.get("file")
    if upload is None or not target.exists() or target.stat().st_size == 0:
        raise InvalidData("Invalid request: Field 'file' is required (a non-empty file)")
    name = PurePath(upload.filename or "").name[:255] or None
    return name, {key: form[key] for key in form}
