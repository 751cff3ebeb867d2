"""``customers erase`` and ``customers purge``: erasure and retention from the command line.

Both go through the service's erasure (receipts, merged customers, identity links, dead
letters) and then make sure the search index no longer holds what they erased: when an indexer
is active (``serve``, ``customers index``) they wait for it, as the API does; when none runs,
this process takes the indexer's lease and catches the index up itself (as ``customers
reindex`` does), so the index never serves an erased customer once the command has answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import click

from app.cli.progress import counting_bar
from app.config import Settings

if TYPE_CHECKING:
    from app.bootstrap import Database
    from app.service import CustomerModuleService
    from indexers.backends import SearchBackend

__all__ = ["erase", "purge"]

T = TypeVar("T")

_INDEX_STATE = {True: "removed", False: "pending (the indexer drops them when it catches up)"}


async def _erasing(
    settings: Settings,
    database: Database,
    backend: SearchBackend,
    work: Callable[[CustomerModuleService], Awaitable[T]],
) -> tuple[T, bool]:
    """Run ``work(service)``, then bring the search index up to date; return what ``work``
    returned and whether the index no longer holds what it erased."""
    from app.bootstrap import new_indexer
    from app.service import CustomerModuleService
    from app.service.methods.privacy import ERASE_INDEX_TIMEOUT
    from indexers.lease import active_holder
    from indexers.state import IndexerState
    from indexers.wiring import search_reader

    name = settings.elasticsearch_index
    active = active_holder(await IndexerState(database, name).load()) is not None
    reader = search_reader(database, backend, name=name) if active else None
    service = await CustomerModuleService.connect(
        client=database.client, database=settings.mongodb_database, index=reader
    )
    done = await work(service)
    if reader is not None:
        return done, await reader.wait_until_applied(ERASE_INDEX_TIMEOUT)
    if await backend.active_generation() is not None:  # no index yet: nothing to remove
        await new_indexer(settings, database, backend).run_until_caught_up()
    return done, True


def _run(work: Callable[[CustomerModuleService], Awaitable[T]]) -> tuple[T, bool]:
    """Run ``work`` through :func:`_erasing` on the configured database and index; a refused
    request (unknown id, bad input) ends the command with its message."""
    from app.bootstrap import connected_search
    from app.cli.context import configure_logging, run_in
    from app.errors import CustomerModuleError

    settings = Settings.from_env()
    configure_logging(settings)

    async def on(parts: tuple[Database, SearchBackend]) -> tuple[T, bool]:
        return await _erasing(settings, *parts, work)

    try:
        return run_in(connected_search(settings), on)
    except CustomerModuleError as exc:
        raise click.ClickException(exc.message) from None


@click.command("erase")
@click.argument("ids", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(ids: tuple[str, ...], yes: bool) -> None:
    """Erase customers for good (and the customers merged into them): from MongoDB and the
    search index, keeping a receipt without personal data. An erased id answers its receipt
    again; an unknown one fails."""
    if not yes:
        click.confirm(f"Erase {len(ids)} customer(s) for good? This cannot be undone", abort=True)
    result, synced = _run(lambda service: service.erase_customers(list(ids), actor="cli"))
    for receipt in result.receipts:
        state = "erased now" if receipt.id in result.erased else "erased before"
        click.echo(f"{receipt.id}: {state}; receipt of {receipt.erased_at:%Y-%m-%d %H:%M:%S} UTC")
    click.echo(f"search index: {_INDEX_STATE[synced]}")


@click.command("purge")
@click.option(
    "--deleted-before",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Erase customers soft-deleted before this date (UTC): 2025-06-30 or 2025-06-30T12:00:00.",
)
@click.option("--dry-run", is_flag=True, help="Count them; erase nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(deleted_before: datetime, dry_run: bool, yes: bool) -> None:
    """Retention: erase every customer soft-deleted before a date, in batches, with a
    progress bar (receipts kept, as ``erase`` does)."""
    before = deleted_before.replace(tzinfo=UTC)
    if not (dry_run or yes):
        click.confirm(
            f"Erase every customer soft-deleted before {before:%Y-%m-%d %H:%M:%S} UTC for good?",
            abort=True,
        )
    bar, progress = counting_bar("purge", "customers")
    try:
        done, synced = _run(
            lambda service: service.purge_customers(before, dry_run=dry_run, progress=progress)
        )
    finally:
        if bar.live.is_started:
            bar.stop()
    when = f"{before:%Y-%m-%d %H:%M:%S} UTC"
    if dry_run:
        click.echo(f"{done.matched} customers soft-deleted before {when} (dry run: none erased)")
        return
    click.echo(f"erased {done.erased} customers soft-deleted before {when} (merged ones included)")
    click.echo(f"search index: {_INDEX_STATE[synced]}")
