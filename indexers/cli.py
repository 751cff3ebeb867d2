"""``customers index`` / ``customers reindex``, and the indexer inside ``customers serve``.

``app.cli`` calls :func:`register` (adds the commands) and :func:`on_serve` (starts the indexer
as a background task of the API's event loop unless ``CUSTOMERS_INDEXER=off``).

- ``customers index`` runs the sync indexer in its own process until SIGTERM/SIGINT (a second
  signal exits at once), with its own Prometheus metrics on ``--metrics-port`` /
  ``METRICS_PORT``. ``--burst`` stops once caught up; while another process's indexer holds the
  lease, it waits (bounded) until that one has applied every change made before the command,
  instead of standing by forever. It is a click group invoked without a subcommand, so
  ``customers index status [--json]`` and ``customers index verify [--repair]`` sit beside.
- ``customers reindex``: zero-downtime full reindex with a progress bar (count, rate, ETA; the
  total is estimated up front). If an indexer is active (another process holds the lease), it
  is asked to do it and its progress is followed; otherwise this process takes the lease and
  does it (then stops).
- ``on_serve`` also registers the search side's readiness checks (``/health/ready``) and the
  in-process indexer's metrics with the API.

The commands are thin: the logic is in :mod:`indexers.sync`, :mod:`indexers.reindex`,
:mod:`indexers.verify`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from app.config import Settings

__all__ = ["index", "on_serve", "register", "reindex", "run_reindex"]

T = TypeVar("T")

log = logging.getLogger("customers.indexer.cli")

INDEXER = "customers.indexer"  # app.extensions key of the in-process Indexer
BACKEND = "customers.search_backend"  # app.extensions key of a shared backend, if the app has one
BURST_FOLLOW_TIMEOUT = 60.0  # seconds `index --burst` waits for another process's indexer


def _configure_logging(settings: Settings, handler: logging.Handler | None = None) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[handler] if handler is not None else None,
    )


def _with_context(work: Callable[[Settings, Any, Any], Awaitable[T]]) -> T:
    """Run ``work(settings, database, backend)`` on a fresh loop with its own client/backend."""
    from app.db import close_client, open_client
    from indexers.backends import open_backend

    settings = Settings.from_env()

    async def main() -> T:
        client, server = await open_client(settings)
        backend = open_backend(settings)
        try:
            return await work(settings, client[settings.mongodb_database], backend)
        finally:
            await backend.close()
            await close_client(client, server)

    return asyncio.run(main())


def _make_indexer(settings: Settings, database: Any, backend: Any, **options: Any) -> Any:
    from indexers.sync import Indexer

    return Indexer(database, backend, name=settings.elasticsearch_index, **options)


# -- customers index ---------------------------------------------------------------------------
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
    from app.metrics import new_registry, start_metrics_server
    from indexers.metrics import IndexerCollector

    if ctx.invoked_subcommand is not None:
        return
    settings = Settings.from_env()
    _configure_logging(settings)
    registry = new_registry()
    port = metrics_port if metrics_port is not None else settings.metrics_port
    try:  # before connecting: a port in use fails at once, in one line
        stop_metrics = start_metrics_server(registry, port, host=metrics_host)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    if port is not None:
        log.info("metrics on http://%s:%d/metrics", metrics_host, port)

    async def work(settings: Settings, database: Any, backend: Any) -> None:
        indexer = _make_indexer(
            settings, database, backend, lease_ttl=lease_ttl, batch_size=batch_size
        )
        registry.register(IndexerCollector(indexer))
        if burst:
            click.echo(await _burst(indexer))
            return
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

    try:
        _with_context(work)
    finally:
        stop_metrics()


async def _burst(indexer: Any) -> str:
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


async def _follow(indexer: Any, timeout: float) -> bool:  # noqa: ASYNC109
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
    from indexers.verify import index_status

    report = _with_context(index_status)
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
    from indexers.verify import verify

    async def work(settings: Settings, database: Any, backend: Any) -> Any:
        return await verify(database, backend, name=settings.elasticsearch_index, repair=repair)

    result = _with_context(work)
    click.echo(result.summary(show=show))
    if not result.ok and not repair:
        raise SystemExit(1)


# -- customers reindex -------------------------------------------------------------------------
def _progress_bar() -> tuple[Any, Callable[[int, int], None]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    class DocsSpeed(TransferSpeedColumn):
        def render(self, task: Any) -> Any:
            from rich.text import Text

            speed = task.finished_speed or task.speed
            return Text(
                "?" if speed is None else f"{speed:,.0f} docs/s", style="progress.data.speed"
            )

    bar = Progress(
        TextColumn("reindex"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        DocsSpeed(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    task = bar.add_task("copy", total=None)

    def update(copied: int, total: int) -> None:
        bar.update(task, completed=copied, total=max(total, copied))
        if not bar.live.is_started:  # shown from the first report on: the total is known then
            bar.start()

    return bar, update


async def run_reindex(
    settings: Settings,
    database: Any,
    backend: Any,
    *,
    progress: Callable[[int, int], None] | None = None,
    timeout: float | None = None,  # noqa: ASYNC109
) -> dict[str, Any]:
    """The one reindex entry point of the CLI and scripts/reindex.py; returns a summary."""
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
    indexer = _make_indexer(settings, database, backend, reindex_progress=progress)
    await indexer.run_until_caught_up(reindex=True, timeout=timeout or 60.0)
    return (await state.load()).get("last_reindex") or {}


@click.command("reindex")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
def reindex(timeout: float | None) -> None:
    """Zero-downtime full reindex: new generation from MongoDB, catch up, verify, switch."""
    from rich.logging import RichHandler

    settings = Settings.from_env()
    bar, update = _progress_bar()
    handler = RichHandler(console=bar.console, show_path=False)  # logs print above the bar
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    _configure_logging(settings, handler)

    async def work(settings: Settings, database: Any, backend: Any) -> dict[str, Any]:
        try:
            return await run_reindex(settings, database, backend, progress=update, timeout=timeout)
        finally:
            if bar.live.is_started:
                bar.stop()

    started = time.monotonic()
    try:
        summary = _with_context(work)
    except Exception as exc:
        raise click.ClickException(f"reindex failed: {exc}") from exc
    click.echo(
        f"reindexed {summary.get('copied', '?')} customers into {summary.get('generation')} "
        f"({summary.get('docs_per_second', '?')} docs/s copy; "
        f"{time.monotonic() - started:.1f}s in all)"
    )


def register(cli: click.Group) -> None:
    """Add ``index`` (with ``status``/``verify``) and ``reindex`` to the ``customers`` group."""
    cli.add_command(index)
    cli.add_command(reindex)


# -- the indexer inside `customers serve` ------------------------------------------------------
def on_serve(app: Any, settings: Settings) -> Callable[[], None] | None:
    """Serve the API's customer lists from the search index; run the indexer here too.

    The read side is always attached (with read-your-writes, see :mod:`indexers.wiring`); the
    sync indexer runs on the app's event loop unless ``CUSTOMERS_INDEXER=off`` (then a separate
    ``customers index`` process keeps the index up to date). The index and indexer readiness
    checks and the indexer's metrics join the app's. Returns the function that stops what was
    started. The indexer is left at ``app.extensions["customers.indexer"]``.
    """
    from app import metrics, readiness, runtime
    from indexers.backends import open_backend
    from indexers.health import index_check, indexer_check
    from indexers.metrics import IndexerCollector
    from indexers.wiring import attach_search

    runner = app.extensions[runtime.LOOP]
    service = app.extensions[runtime.SERVICE]
    backend = app.extensions.get(BACKEND)
    owns_backend = backend is None
    if backend is None:
        backend = open_backend(settings)
        app.extensions[BACKEND] = backend
    indexer = None
    if settings.indexer_enabled:
        indexer = _make_indexer(settings, service.database, backend)
        app.extensions[INDEXER] = indexer
    else:
        log.info("CUSTOMERS_INDEXER is off: a separate `customers index` keeps the index fresh")
    attach_search(service, backend, indexer=indexer, name=settings.elasticsearch_index)
    readiness.add_check(app, "index", index_check(service))
    readiness.add_check(
        app,
        "indexer",
        indexer_check(service.database, name=settings.elasticsearch_index, indexer=indexer),
    )
    collector = IndexerCollector(indexer) if indexer is not None else None
    if collector is not None:
        metrics.add_collector(app, collector)
    stop_holder: dict[str, asyncio.Event] = {}

    async def start() -> None:
        stop_holder["stop"] = asyncio.Event()

    runner.run(start())
    future = None
    if indexer is not None:
        future = asyncio.run_coroutine_threadsafe(indexer.run(stop_holder["stop"]), runner.loop)
        log.info("sync indexer started in the serve process (%s)", datetime.now(UTC).isoformat())

    def stop() -> None:
        service.index = None
        if collector is not None:
            metrics.registry_of(app).unregister(collector)
        runner.loop.call_soon_threadsafe(stop_holder["stop"].set)
        if future is not None:
            with contextlib.suppress(Exception):
                future.result(timeout=15)
        if owns_backend:
            with contextlib.suppress(Exception):
                runner.run(backend.close(), timeout=10)

    return stop
