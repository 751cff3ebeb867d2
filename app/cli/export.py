"""``customers export``: the customers matching filters, as a file (or on stdout).

The same export as ``GET /admin/customers/export`` (:meth:`export_customers`), straight from
MongoDB: the filters are the customer list's. Written to ``-o FILE`` under a temporary name
and renamed once complete (a failed export leaves no partial file), with a progress bar on
stderr; without ``-o``, the bytes go to stdout as they are read.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from app.config import Settings
from app.dataio.layout import Format

if TYPE_CHECKING:
    from app.bootstrap import Database
    from app.service.methods.exports import CustomerExport

__all__ = ["export"]

Progress = Callable[["CustomerExport"], None]


def _filters(q: str | None, groups: tuple[str, ...], has_account: str | None) -> dict[str, Any]:
    """The customer list's filters the options ask for."""
    filters: dict[str, Any] = {}
    if q:
        filters["q"] = q
    if groups:
        filters["groups"] = list(groups)
    if has_account is not None:
        filters["has_account"] = has_account == "true"
    return filters


async def _write(export: CustomerExport, out: IO[bytes], progress: Progress | None) -> None:
    async for chunk in export:
        out.write(chunk)
        if progress is not None:
            progress(export)


@click.command("export")
@click.option(
    "--format", "fmt", type=click.Choice([f.value for f in Format]), default=Format.JSONL.value,
    show_default=True, help="jsonl (groups, then customers: a restore file), csv, or shopify.",
)  # fmt: skip
@click.option("--q", help="Words every exported customer matches (the list's q).")
@click.option("--group", "groups", multiple=True, help="A group id (repeat: any of them).")
@click.option("--has-account", type=click.Choice(["true", "false"]), help="Accounts or guests.")
@click.option("--with-deleted", is_flag=True, help="Soft-deleted customers (and groups) too.")
@click.option("--gzip", "packed", is_flag=True, help="Gzip the file.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The file to write (default: stdout).",
)  # fmt: skip
def export(
    fmt: str,
    q: str | None,
    groups: tuple[str, ...],
    has_account: str | None,
    with_deleted: bool,
    packed: bool,
    output: Path | None,
) -> None:
    """Export customers (the customer list's filters) as JSONL, CSV or Shopify's CSV."""
    from app.bootstrap import connected
    from app.cli.context import configure_logging, run_in
    from app.errors import CustomerModuleError
    from app.service import CustomerModuleService

    settings = Settings.from_env()
    configure_logging(settings)
    filters = _filters(q, groups, has_account)

    async def work(database: Database) -> int:
        service = await CustomerModuleService.connect(
            client=database.client, database=database.name
        )
        export = await service.export_customers(
            filters, format=fmt, with_deleted=with_deleted, gzip=packed
        )
        if output is None:
            await _write(export, sys.stdout.buffer, None)
            return export.written
        with _progress_bar() as progress:
            await _to_file(export, output, progress)
        return export.written

    try:
        written = run_in(connected(settings), work)
    except CustomerModuleError as exc:
        raise click.ClickException(str(exc)) from None
    if output is not None:
        click.echo(f"exported {written:,} customers to {output}", err=True)


async def _to_file(export: CustomerExport, output: Path, progress: Progress) -> None:
    """Write under a temporary name, renamed when complete."""
    partial = output.with_name(f".{output.name}.partial")
    try:
        with partial.open("wb") as out:
            await _write(export, out, progress)
        partial.replace(output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


@contextlib.contextmanager
def _progress_bar() -> Any:
    """A rich progress bar on stderr; yields the function that moves it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("export"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True),
    )  # fmt: skip
    task = bar.add_task("customers", total=None)

    def update(export: CustomerExport) -> None:
        bar.update(task, completed=export.written, total=max(export.total, export.written))

    with bar:
        yield update
