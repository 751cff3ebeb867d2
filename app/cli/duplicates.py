"""``customers duplicates scan``: every cluster of likely duplicates, as JSON Lines.

One line per cluster, highest score first: ``{"customer_ids": [...], "score": S, "reasons":
[...]}`` (the same lines the HTTP scan job writes), to ``-o FILE`` or standard output; a rich
progress bar on standard error meanwhile. MongoDB answers (no search index is needed): the scan
reads every live customer once and compares them in memory by blocking key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.config import Settings

if TYPE_CHECKING:
    from app.duplicates import Cluster
    from app.service import CustomerModuleService

__all__ = ["duplicates"]


@click.group("duplicates")
def duplicates() -> None:
    """Find customers that are likely the same person."""


def _min_score(_ctx: click.Context, _param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not 0 <= value <= 1:
        raise click.BadParameter(f"must be from 0 to 1, got {value:g}")
    return value


@duplicates.command("scan")
@click.option(
    "--min-score",
    type=float,
    default=None,
    callback=_min_score,
    help="Pairs scoring at least this are duplicates (default: CUSTOMERS_DUPLICATES_MIN_SCORE).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the clusters to FILE (default: standard output).",
)
def scan(min_score: float | None, output: Path | None) -> None:
    """Scan every live customer; one cluster of duplicates per line (JSON Lines)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from app.bootstrap import connected_service
    from app.cli.context import configure_logging, run_in
    from app.service.duplicate_scans import cluster_line, write_clusters

    settings = Settings.from_env()
    configure_logging(settings)
    bar = Progress(
        TextColumn("scan"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task("scan", total=None)

    async def progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    async def work(service: CustomerModuleService) -> list[Cluster]:
        return await service.scan_duplicates(min_score=min_score, progress=progress)

    with bar:
        clusters = run_in(connected_service(settings), work)
    if output is None:
        for cluster in clusters:
            click.echo(cluster_line(cluster))
    else:
        write_clusters(output, clusters)
    click.echo(
        f"{len(clusters)} clusters, {sum(len(c.customer_ids) for c in clusters)} customers",
        err=True,
    )
