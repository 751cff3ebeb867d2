"""``customers reindex``: a zero-downtime full reindex, with a progress bar.

A new index generation is built from MongoDB while writes continue, then switched to
atomically. If an indexer is active (another process holds the lease), it is asked to do it
and its progress is followed; otherwise this process takes the lease and does it (then stops).
The progress bar shows count, rate and ETA, with the total estimated up front.
``scripts/reindex.py`` runs the same command.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import click

from app.cli.progress import ReportProgress, counting_bar
from app.config import Settings

if TYPE_CHECKING:
    from app.bootstrap import Database
    from indexers.backends import SearchBackend

__all__ = ["reindex", "run_reindex"]

log = logging.getLogger("customers.indexer.cli")


async def run_reindex(
    settings: Settings,
    database: Database,
    backend: SearchBackend,
    *,
    progress: ReportProgress | None = None,
    timeout: float | None = None,  # noqa: ASYNC109
) -> dict[str, Any]:
    """The one reindex entry point of the CLI and scripts/reindex.py; returns a summary."""
    from app.bootstrap import new_indexer
    from indexers.lease import active_holder
    from indexers.reindex import request_reindex_and_wait
    from indexers.state import IndexerState

    if progress is not None:  # the total up front: the bar shows count, rate and ETA at once
        progress(0, await database["customers"].estimated_document_count())
    state = IndexerState(database, settings.elasticsearch_index)
    holder = active_holder(await state.load())
    if holder is not None:
        log.info("indexer %s is active: asking it to reindex", holder)
        return await request_reindex_and_wait(state, progress=progress, timeout=timeout)
    indexer = new_indexer(settings, database, backend, reindex_progress=progress)
    await indexer.run_until_caught_up(reindex=True, timeout=timeout or 60.0)
    summary: dict[str, Any] = (await state.load()).get("last_reindex") or {}
    return summary


@click.command("reindex")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
def reindex(timeout: float | None) -> None:
    """Zero-downtime full reindex: new generation from MongoDB, catch up, verify, switch."""
    from rich.logging import RichHandler

    from app.bootstrap import connected_search
    from app.cli.context import configure_logging, run_in

    settings = Settings.from_env()
    bar, update = counting_bar("reindex", "docs")
    handler = RichHandler(console=bar.console, show_path=False)  # logs print above the bar
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    configure_logging(settings, handler)

    async def work(parts: tuple[Database, SearchBackend]) -> dict[str, Any]:
        try:
            return await run_reindex(settings, *parts, progress=update, timeout=timeout)
        finally:
            if bar.live.is_started:
                bar.stop()

    started = time.monotonic()
    try:
        summary = run_in(connected_search(settings), work)
    except Exception as exc:
        raise click.ClickException(f"reindex failed: {exc}") from exc
    click.echo(
        f"reindexed {summary.get('copied', '?')} customers into {summary.get('generation')} "
        f"({summary.get('docs_per_second', '?')} docs/s copy; "
        f"{time.monotonic() - started:.1f}s in all)"
    )
