"""Duplicates: one customer's likely duplicates, and scans of the whole base as jobs.

``GET /admin/customers/{id}/duplicates`` answers at once (read keys may ask); a scan runs in
the background (``POST /admin/customers/duplicates/scans``, an admin write), and its job and
clusters are read back by id.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.api.openapi import documented
from app.api.parsing import parse_body, parse_query
from app.api.schemas import duplicates as d
from app.api.serialize import ADMIN_CUSTOMER, dump, select
from app.auth import created_by, require_admin
from app.errors import Conflict, quote
from app.service import duplicate_scans
from app.webapp import get_jobs, get_service

bp = Blueprint("admin_duplicates", __name__, url_prefix="/admin/customers")
bp.before_request(require_admin)

Body = dict[str, Any]


@bp.get("/<customer_id>/duplicates")
@documented(
    summary="Find a customer's likely duplicates",
    query=d.DuplicatesQuery,
    response=d.DuplicatesResponse,
    auth="admin",
    tag="Duplicates",
)
async def find_duplicates(customer_id: str) -> Body:
    """Live customers that are likely the same person, best first, each with its score and
    reasons; 404 for an unknown or deleted customer."""
    query = parse_query(d.DuplicatesQuery)
    selection = select(query.fields, ADMIN_CUSTOMER)
    found = await get_service().find_duplicates(
        customer_id,
        min_score=query.min_score,
        limit=query.limit,
        config={"relations": selection.relation_names},
    )
    return {
        "duplicates": [
            {"customer": dump(f.customer, selection), "score": f.score, "reasons": list(f.reasons)}
            for f in found
        ]
    }


@bp.post("/duplicates/scans")
@documented(
    summary="Scan every customer for duplicates (a background job)",
    body=d.ScanBody,
    response=d.ScanJobResponse,
    auth="admin",
    tag="Duplicates",
    status=202,
)
async def start_scan() -> tuple[Body, int]:
    """Queue a scan; answers 202 with the job (follow it at ``…/scans/{id}``)."""
    body = parse_body(d.ScanBody)
    jobs = get_jobs()
    job_id, _ = jobs.reserve(duplicate_scans.KIND)
    params = {} if body.min_score is None else {"min_score": body.min_score}
    view = await jobs.submit(job_id, duplicate_scans.KIND, params, created_by=created_by())
    return view, 202


async def _scan(job_id: str) -> Body:
    return await get_jobs().find(job_id, kind=duplicate_scans.KIND, label="Duplicate scan")


@bp.get("/duplicates/scans/<job_id>")
@documented(
    summary="A duplicate scan job",
    response=d.ScanJobResponse,
    auth="admin",
    tag="Duplicates",
)
async def get_scan(job_id: str) -> Body:
    """The scan's state, progress and, once done, how many clusters it found."""
    return await _scan(job_id)


@bp.get("/duplicates/scans/<job_id>/clusters")
@documented(
    summary="The clusters a duplicate scan found (paged)",
    query=d.ClustersQuery,
    response=d.ClusterPage,
    auth="admin",
    tag="Duplicates",
    responses={409: "The scan has not succeeded (yet)"},
)
async def scan_clusters(job_id: str) -> Body:
    """Clusters highest score first; 409 while the scan is not done (or if it failed)."""
    query = parse_query(d.ClustersQuery)
    view = await _scan(job_id)
    path = get_jobs().file(job_id, duplicate_scans.CLUSTERS_FILE)
    if view["state"] != "succeeded" or path is None:
        raise Conflict(
            f"Duplicate scan {quote(job_id)} is {view['state']}: its clusters are there once it "
            "has succeeded"
        )
    clusters = duplicate_scans.read_clusters(path, offset=query.offset, limit=query.limit)
    count = int((view.get("result") or {}).get("clusters", 0))
    return {"clusters": clusters, "count": count, "offset": query.offset, "limit": query.limit}
