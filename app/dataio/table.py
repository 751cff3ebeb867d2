"""CSV rows with the line each starts on: what both CSV readers (ours, Shopify's) share.

Quoted fields may hold commas and line breaks (a row then spans several lines); line endings
may be CRLF. A row that cannot be parsed (a field over the bound, a line over the bound) is
reported as a :class:`~app.dataio.rows.Problem` and the reading goes on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from app.dataio.rows import FileError, Problem
from app.dataio.source import ERROR_COLUMNS, TOO_LONG, Lines

__all__ = ["MAX_COLUMNS", "Table", "TableRow"]

MAX_COLUMNS = 1_000  # columns of a header (Shopify's export has about 30)


@dataclass(frozen=True, slots=True)
class TableRow:
    """One CSV row: the line it starts on, its cells by column, or why it is unreadable."""

    line: int
    cells: dict[str, str]
    raw: list[str]
    problem: Problem | None = None


class Table:
    """A CSV file's header and its rows (cells by column name; error-file columns dropped)."""

    def __init__(self, lines: Lines) -> None:
        self._reader = csv.reader(iter(lines))
        try:
            header = next(self._reader)
        except (StopIteration, csv.Error) as exc:
            raise FileError("The CSV header cannot be read") from exc
        if len(header) > MAX_COLUMNS:
            raise FileError(f"The CSV header has more than {MAX_COLUMNS} columns")
        self.header: Sequence[str] = [name.strip() for name in header]
        names = [n for n in self.header if n]
        if len(names) != len(set(names)):
            raise FileError("The CSV header names a column twice")
        self._read = self._reader.line_num

    def __iter__(self) -> Iterator[TableRow]:
        keep = [i for i, name in enumerate(self.header) if name and name not in ERROR_COLUMNS]
        while True:
            start = self._read + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._read = self._reader.line_num
                yield TableRow(start, {}, [], Problem("", f"The row cannot be read: {exc}"))
                continue
            self._read = self._reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # a blank line
            if TOO_LONG in cells[0] or any(TOO_LONG in c for c in cells):
                yield TableRow(start, {}, [], Problem("", "The line is too long"))
                continue
            if len(cells) > len(self.header):
                problem = Problem("", "The row has more cells than the header has columns")
                yield TableRow(start, {}, cells, problem)
                continue
            values = {self.header[i]: cells[i] for i in keep if i < len(cells)}
            yield TableRow(start, values, cells)
