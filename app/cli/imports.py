"""``customers import FILE``: customers from our JSONL or CSV, or Shopify's customer CSV.

A progress bar shows rows, rate, ETA (from the bytes of the file read) and the counts; a
one-line summary ends the run. Failed rows go to an error file (``--errors``, else
``<FILE name>.errors.csv|jsonl`` in the current directory, made only when rows failed).

Exit status: 0 when every row was imported (or would be, with ``--dry-run``), 3 when the run
completed but some rows failed (they are in the error file; fix and import it), 1 when the
file could not be imported at all (its layout or header), 2 for bad arguments.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.config import Settings

if TYPE_CHECKING:
    from app.bootstrap import Database
    from app.service.importing import ImportProgress, ImportReport

__all__ = ["import_command"]

ROWS_FAILED = 3  # exit status: the run completed, some rows failed


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "format_",
    type=click.Choice(["jsonl", "csv", "shopify"]),
    default=None,
    help="The file's layout (default: told from its first line).",
)
@click.option(
    "--mode",
    type=click.Choice(["create", "upsert", "update"]),
    default="upsert",
    show_default=True,
    help="create: fail rows that exist; update: fail rows that do not; upsert: both.",
)
@click.option("--dry-run", is_flag=True, help="Validate and count; write nothing.")
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where failed rows go (default: FILE's name + .errors.csv or .errors.jsonl).",
)
def import_command(
    file: Path, format_: str | None, mode: str, dry_run: bool, errors_path: Path | None
) -> None:
    """Import customers from FILE (gzipped or not)."""
    from app.bootstrap import connected
    from app.cli.context import configure_logging, run_in

    settings = Settings.from_env()
    configure_logging(settings)
    bar = _Bar(file.stat().st_size)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", newline="", dir=Path.cwd(), prefix=".import-errors-", delete=False
    ) as errors:

        async def work(database: Database) -> ImportReport:
            from app.service import CustomerModuleService

            service = await CustomerModuleService.connect(
                client=database.client, database=database.name
            )
            with file.open("rb") as source:
                return await service.import_customers(
                    source,
                    format=format_,
                    mode=mode,
                    dry_run=dry_run,
                    error_file=errors,
                    progress=bar.update,
                    source_name=file.name,
                )

        try:
            with bar:
                report = run_in(connected(settings), work)
        except Exception as exc:
            os.unlink(errors.name)
            from app.errors import CustomerModuleError

            if isinstance(exc, CustomerModuleError):
                raise click.ClickException(exc.message) from None
            raise
    _finish(report, Path(errors.name), errors_path or _default_errors(file, report.format))


def _default_errors(file: Path, format: str) -> Path:
    suffix = "jsonl" if format == "jsonl" else "csv"
    name = file.name.removesuffix(".gz")
    return Path.cwd() / f"{name}.errors.{suffix}"


def _finish(report: ImportReport, written: Path, wanted: Path) -> None:
    """The one-line summary; keep the error file only when rows failed."""
    c = report.counts
    what = "would be " if report.dry_run else ""
    summary = (
        f"{report.rows:,} rows ({report.format}): {what}{c.created:,} created, "
        f"{c.updated:,} updated, {c.unchanged:,} unchanged, {c.failed:,} failed"
        + (f"; {c.groups_created:,} groups created" if c.groups_created else "")
    )
    if not c.failed:
        written.unlink(missing_ok=True)
        click.echo(summary)
        return
    written.replace(wanted)
    click.echo(f"{summary}; failed rows: {wanted}")
    raise SystemExit(ROWS_FAILED)


class _Bar:
    """A rich progress bar over the file's bytes, with rows, their rate and the counts."""

    def __init__(self, size: int) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("import"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]:,} rows, {task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[counts]}"),
            transient=True,
        )
        self._task = self._bar.add_task("import", total=max(size, 1), rows=0, rate="", counts="")

    def __enter__(self) -> _Bar:
        self._bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._bar.stop()

    def update(self, progress: ImportProgress) -> None:
        """Move the bar after a batch."""
        elapsed = self._bar.tasks[0].elapsed or 0.0
        rate = f"{progress.rows / elapsed:,.0f} rows/s" if elapsed > 0 else ""
        c = progress.counts
        counts = (
            f"+{c.created:,} ~{c.updated:,} ={c.unchanged:,} !{c.failed:,}"
            " (created, updated, unchanged, failed)"
        )
        self._bar.update(
            self._task, completed=progress.position, rows=progress.rows, rate=rate, counts=counts
        )
