"""``customers index``: run the sync indexer here, or ``status`` / ``verify [--repair]``.

- ``customers index`` runs the sync indexer in its own process until SIGTERM/SIGINT (a second
  signal exits at once), with its own Prometheus metrics on ``--metrics-port`` /
  ``METRICS_PORT``. ``--burst`` stops once caught up; while another process's indexer holds the
  lease, it waits (bounded) until that one has applied every change made before the command,
  instead of standing by forever. It is a click group invoked without a subcommand, so
  ``customers index status [--json]`` and ``customers index verify [--repair]`` sit beside.

The logic is in :mod:`indexers.sync` and :mod:`indexers.verify`; the parts come from
:mod:`app.bootstrap`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from typing import TYPE_CHECKING, Any

import click

from app.config import Settings

if TYPE_CHECKING:
    from app.bootstrap import Database
    from indexers.backends import SearchBackend
    from indexers.sync import Indexer

__all__ = ["index"]

log = logging.getLogger("customers.indexer.cli")

BURST_FOLLOW_TIMEOUT = 60.0  # seconds `index --burst` waits for another process's indexer


@click.group(invoke_without_command=True)
@click.option("--burst", is_flag=True, help="Stop once caught up (and any reindex is done).")
@click.option("--lease-ttl", default=15.0, show_default=True, help="Lease lifetime, seconds.")
@click.option("--batch-size", default=1000, show_default=True, help="Events per flush.")
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve Prometheus metrics at http://HOST:PORT/metrics (default: METRICS_PORT; off).",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Metrics interface.")
@click.pass_context
def index(
    ctx: click.Context,
    burst: bool,
    lease_ttl: float,
    batch_size: int,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Run the search sync indexer here (no subcommand), or `status` / `verify [--repair]`.

    Without a subcommand the indexer runs until SIGTERM/SIGINT, as standby while another
    instance holds the lease.
    """
    from app.bootstrap import connected_search, new_indexer
    from app.cli.context import configure_logging, run_in
    from app.metrics import new_registry, start_metrics_server

    if ctx.invoked_subcommand is not None:
        return
    settings = Settings.from_env()
    configure_logging(settings)
    registry = new_registry()
    port = metrics_port if metrics_port is not None else settings.metrics_port
    try:  # before connecting: a port in use fails at once, in one line
        stop_metrics = start_metrics_server(registry, port, host=metrics_host)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    if port is not None:
        log.info("metrics on http://%s:%d/metrics", metrics_host, port)

    async def work(parts: tuple[Database, SearchBackend]) -> None:
        database, backend = parts
        indexer = new_indexer(
            settings,
            database,
            backend,
            registry=registry,
            lease_ttl=lease_ttl,
            batch_size=batch_size,
        )
        if burst:
            click.echo(await _burst(indexer))
        else:
            await _run_until_signalled(indexer)

    try:
        run_in(connected_search(settings), work)
    finally:
        stop_metrics()


async def _run_until_signalled(indexer: Indexer) -> None:
    """Run ``indexer`` until SIGTERM/SIGINT; a second signal exits at once (status 1)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals > 1:
            raise SystemExit(1)
        log.info("stopping the indexer (again to exit at once)")
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    await indexer.run(stop)


async def _burst(indexer: Indexer) -> str:
    """Catch up and stop; beside another process's indexer, wait for it instead (bounded)."""
    from indexers.lease import active_holder

    holder = active_holder(await indexer.state.load())
    if holder is None:
        try:
            await indexer.run_until_caught_up(timeout=indexer.lease_ttl + 5)
        except TimeoutError:  # another indexer took the lease first
            holder = active_holder(await indexer.state.load()) or "of another process"
        else:
            return f"caught up: {indexer!r}"
    if await _follow(indexer, BURST_FOLLOW_TIMEOUT):
        return (
            f"caught up: indexer {holder} (another process) holds the lease of "
            f"{indexer.name!r} and has applied every change made before this command"
        )
    raise click.ClickException(
        f"indexer {holder} holds the lease of {indexer.name!r}, so --burst cannot run here, "
        f"and it did not catch up within {BURST_FOLLOW_TIMEOUT:g} s "
        "(see `customers index status`)"
    )


async def _follow(indexer: Indexer, timeout: float) -> bool:  # noqa: ASYNC109
    """Wait until the lease holder has applied the changes made so far and no reindex is due."""
    from indexers.sync import probe_head, wait_for_position

    deadline = time.monotonic() + timeout
    head = await probe_head(indexer.database)
    if not await wait_for_position(indexer.state, head, timeout):
        return False
    while time.monotonic() < deadline:
        doc = await indexer.state.load()
        if not doc.get("reindex_required") and not doc.get("reindex"):
            return True
        await asyncio.sleep(0.5)
    return False


@index.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_command(as_json: bool) -> None:
    """Checkpoint time, lag, MongoDB vs index counts, dead letters, reindex state."""
    from app.bootstrap import connected_search
    from app.cli.context import run_in
    from indexers.verify import index_status

    settings = Settings.from_env()
    report = run_in(connected_search(settings), lambda parts: index_status(settings, *parts))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        if key == "recent_dead_letters":
            for letter in value:
                click.echo(
                    f"  dead letter: {letter['customer_id']} at {letter['at']}: {letter['reason']}"
                )
            continue
        if isinstance(value, dict):
            click.echo(f"{key:>22}:")
            for sub_key, sub_value in value.items():
                click.echo(f"{'':>24}{sub_key}: {_readable(sub_value)}")
            continue
        click.echo(f"{key:>22}: {_readable(value)}")


def _readable(value: Any) -> str:
    return "-" if value is None else str(value)


@index.command("verify")
@click.option("--repair", is_flag=True, help="Re-index drifted customers, delete strays.")
@click.option("--show", default=10, show_default=True, help="Differing ids to print.")
def verify_command(repair: bool, show: int) -> None:
    """Compare MongoDB with the index (ids, versions, content) and optionally repair drift."""
    from app.bootstrap import connected_search
    from app.cli.context import run_in
    from indexers.verify import verify

    settings = Settings.from_env()
    result = run_in(
        connected_search(settings),
        lambda parts: verify(*parts, name=settings.elasticsearch_index, repair=repair),
    )
    click.echo(result.summary(show=show))
    if not result.ok and not repair:
        raise SystemExit(1)
