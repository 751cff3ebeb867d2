"""The import run: rows streamed from the file, cut into batches, written, counted, reported.

Memory holds one batch (at most :data:`BATCH_ROWS` rows), never the file. Rows are read and
parsed in a worker thread, so a ``serve`` process's event loop keeps answering requests while
an import job runs on it. A batch never holds two rows for the same customer (the second
starts the next batch), so each row is planned against what the rows before it wrote.

Interrupted anywhere (a crash, a cancel, a failing ``progress``), a run leaves every row it
wrote whole, and running it again finds them (by id, by email and ``has_account``, or by the
id derived from the row's content for rows without either) instead of creating them twice;
``skip`` continues after the rows a previous run reported done.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, Any, BinaryIO

from app.dataio.errorfile import ErrorFile
from app.dataio.readers import Reading, read_file
from app.dataio.rows import FileError, Row
from app.entities.values import utcnow
from app.errors import InvalidData
from app.service.importing.batch import Outcome, import_customers_batch, import_groups_batch
from app.service.importing.plan import Action, Mode, Setting, match_key
from app.service.store import Store

__all__ = [
    "BATCH_ROWS",
    "ImportCounts",
    "ImportProgress",
    "ImportReport",
    "Progress",
    "RowError",
    "run_import",
]

BATCH_ROWS = 1_000  # rows per bulk write
FIRST_ERRORS = 20  # errors a report keeps (the error file has them all)


@dataclass
class ImportCounts:
    """Rows created, updated, unchanged and failed; groups the import created."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    groups_created: int = 0

    def add(self, outcome: Outcome) -> None:
        """Count one row's outcome."""
        self.groups_created += outcome.groups_created
        if outcome.failure is not None:
            self.failed += 1
        elif outcome.action is Action.CREATED:
            self.created += 1
        elif outcome.action is Action.UPDATED:
            self.updated += 1
        else:
            self.unchanged += 1

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RowError:
    """A failed row: its line, the failing field (named as the file names it) and why."""

    line: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ImportProgress:
    """Where a run is, after each batch: rows done (skipped ones included), bytes of the file
    read (of ``size``, when known), the counts, and the errors since the previous report."""

    rows: int
    position: int
    size: int | None
    counts: ImportCounts
    errors: list[RowError] = field(default_factory=list)


@dataclass
class ImportReport:
    """The end of a run."""

    format: str
    rows: int
    dry_run: bool
    counts: ImportCounts
    errors: list[RowError]

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "rows": self.rows,
            "dry_run": self.dry_run,
            "counts": self.counts.as_dict(),
            "errors": [e.as_dict() for e in self.errors],
        }


Progress = Callable[[ImportProgress], Awaitable[None] | None]


async def run_import(
    store: Store,
    source: BinaryIO,
    *,
    format: str | None = None,
    mode: str = Mode.UPSERT,
    dry_run: bool = False,
    actor: str | None = None,
    source_name: str | None = None,
    error_file: IO[str] | None = None,
    progress: Progress | None = None,
    skip: int = 0,
    size: int | None = None,
) -> ImportReport:
    """Import ``source`` (see :meth:`CustomerModuleService.import_customers`)."""
    chosen_mode = _mode(mode)
    try:
        reading = await asyncio.to_thread(read_file, source, format)
    except FileError as exc:
        raise InvalidData(f"Invalid request: {exc}") from None
    now = utcnow()
    origin = {"format": str(reading.format), "source": source_name, "at": now}
    setting = Setting(mode=chosen_mode, now=now, actor=actor, origin=origin)
    errors = ErrorFile(error_file, reading.format, reading.header) if error_file else None
    try:
        counts, first, rows = await _batches(
            store, reading, setting, errors, progress, skip, size, dry_run
        )
    finally:
        reading.release()
        if errors is not None:
            errors.flush()
    return ImportReport(str(reading.format), rows, dry_run, counts, first)


async def _batches(
    store: Store,
    reading: Reading,
    setting: Setting,
    errors: ErrorFile | None,
    progress: Progress | None,
    skip: int,
    size: int | None,
    dry_run: bool,
) -> tuple[ImportCounts, list[RowError], int]:
    """Every batch of the file: written, counted, reported. The next batch is read (in a
    worker thread) while this one is written, so parsing overlaps the database's work."""
    run = _Run(reading, skip)
    counts = ImportCounts()
    first: list[RowError] = []
    ahead = asyncio.ensure_future(asyncio.to_thread(run.next_batch))
    try:
        while True:
            try:
                batch, done, position = await ahead
            except FileError as exc:
                raise InvalidData(f"Invalid request: {exc} (after {run.rows} rows)") from None
            if not batch:
                return counts, first, done
            ahead = asyncio.ensure_future(asyncio.to_thread(run.next_batch))
            write = import_groups_batch if batch[0].kind == "group" else import_customers_batch
            outcomes = await write(store, batch, setting, dry_run=dry_run)
            new_errors = _record(outcomes, counts, errors)
            first.extend(new_errors[: FIRST_ERRORS - len(first)])
            if progress is not None:
                result = progress(ImportProgress(done, position, size, counts, new_errors))
                if inspect.isawaitable(result):
                    await result
    finally:
        if not ahead.done():  # the reader thread must be done before the file is let go
            await asyncio.wait([ahead])
        if not ahead.cancelled():
            ahead.exception()  # retrieved: an unread batch's error is not worth a warning


def _mode(mode: str) -> Mode:
    try:
        return Mode(mode)
    except ValueError:
        raise InvalidData(
            "Invalid request: Field 'mode' must be one of: create, upsert, update"
        ) from None


def _record(
    outcomes: list[Outcome], counts: ImportCounts, errors: ErrorFile | None
) -> list[RowError]:
    """Count the outcomes; write the failed rows to the error file, in file order."""
    found: list[RowError] = []
    for outcome in sorted(outcomes, key=lambda o: o.row.line):
        counts.add(outcome)
        if outcome.failure is None:
            continue
        column = outcome.row.column(outcome.failure.field) if outcome.failure.field else ""
        found.append(RowError(outcome.row.line, column, outcome.failure.message))
        if errors is not None:
            errors.write(outcome.row, column, outcome.failure.message)
    if found and errors is not None:
        errors.flush()  # a job's error report is read while the job runs
    return found


class _Run:
    """The rows of a reading, cut into batches; ``rows`` counts those consumed so far."""

    def __init__(self, reading: Reading, skip: int) -> None:
        self._reading = reading
        self._rows: Iterator[Row] = reading.rows
        self._skip = skip
        self._held: Row | None = None
        self.rows = 0

    def next_batch(self) -> tuple[list[Row], int, int]:
        """Up to :data:`BATCH_ROWS` rows of one kind, no two of them for the same customer;
        the rows consumed and the file's byte position after them."""
        batch: list[Row] = []
        keys: set[object] = set()
        while len(batch) < BATCH_ROWS:
            row = self._held if self._held is not None else next(self._rows, None)
            self._held = None
            if row is None:
                break
            if self.rows < self._skip:
                self.rows += 1
                continue
            row_keys = _keys(row)
            if batch and (row.kind != batch[0].kind or not keys.isdisjoint(row_keys)):
                self._held = row
                break
            batch.append(row)
            keys |= row_keys
            self.rows += 1
        return batch, self.rows, self._reading.position()


def _keys(row: Row) -> set[object]:
    """Everything a row may match a stored customer by (its id, its email)."""
    if row.problem is not None:
        return set()
    keys: set[object] = set()
    key = match_key(row.values)
    if key is not None:
        keys.add(key)
    if key is not None and key[0] == "id":
        by_email = match_key({**row.values, "id": None})
        if by_email is not None:
            keys.add(by_email)
    return keys
