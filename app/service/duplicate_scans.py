"""The ``duplicate_scan`` job: a whole-base scan in the background, its clusters in a file.

The clusters go to ``clusters.jsonl`` in the job's directory, one per line in the order the
scan sorts them (``customer duplicates scan -o`` writes the same lines), not into the job's
document: a big base has thousands of clusters, more than a document should hold. The job's
``result`` says how many there are; :func:`read_clusters` serves them in pages.

The kind is resumable in the simplest way: a scan interrupted by a restart runs again from
the start (it has no partial state worth keeping).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.duplicates import Cluster
from app.jobs import JobContext, register

__all__ = [
    "CLUSTERS_FILE",
    "KIND",
    "cluster_line",
    "read_clusters",
    "run_scan",
    "write_clusters",
]

KIND = "duplicate_scan"
CLUSTERS_FILE = "clusters.jsonl"


def cluster_line(cluster: Cluster) -> str:
    """One cluster as a line of JSON Lines (without the newline)."""
    return json.dumps(cluster.as_json(), ensure_ascii=False)


def write_clusters(path: Path, clusters: Iterable[Cluster]) -> int:
    """Write one cluster per line (JSON Lines), atomically; how many were written."""
    partial = path.with_name(path.name + ".partial")
    count = 0
    with partial.open("w", encoding="utf-8") as out:
        for cluster in clusters:
            out.write(cluster_line(cluster) + "\n")
            count += 1
    os.replace(partial, path)
    return count


def read_clusters(path: Path, *, offset: int, limit: int) -> list[dict[str, Any]]:
    """The clusters ``offset`` to ``offset + limit`` of a clusters file."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in itertools.islice(lines, offset, offset + limit)]


async def run_scan(ctx: JobContext) -> dict[str, Any]:
    """Scan the live customers for duplicates; the clusters to the job's file."""

    async def progress(done: int, total: int) -> None:
        await ctx.report(done=done, total=total)

    min_score = ctx.params.get("min_score")
    clusters = await ctx.service.scan_duplicates(min_score=min_score, progress=progress)
    count = write_clusters(ctx.directory / CLUSTERS_FILE, clusters)
    await ctx.report(counts={"clusters": count}, force=True)
    return {
        "clusters": count,
        "customers": sum(len(c.customer_ids) for c in clusters),
        "min_score": ctx.service.min_score if min_score is None else min_score,
    }


register(KIND, run_scan, resumable=True)
