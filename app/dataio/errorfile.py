"""The error file of an import: every row that failed, as it was, with why.

It is in the layout of the file imported (CSV rows with three more columns, or JSON lines with
one more key), and the readers ignore what it adds: fix the rows, import the error file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import IO, Any

from app.dataio.jsonl import ERROR_KEY
from app.dataio.layout import Format
from app.dataio.rows import Row
from app.dataio.source import ERROR_COLUMNS

__all__ = ["ErrorFile", "error_file_name"]


def error_file_name(format: Format) -> str:
    """The error file's name for an import of ``format``."""
    return "errors.jsonl" if format is Format.JSONL else "errors.csv"


class ErrorFile:
    """Writes failed rows to ``out`` (a text file opened with ``newline=""``; the CSV header
    is written when it is empty, so a resumed import appends to what it wrote before)."""

    def __init__(self, out: IO[str], format: Format, header: Sequence[str] | None) -> None:
        self._out = out
        self._csv = None if format is Format.JSONL else csv.writer(out, lineterminator="\r\n")
        names = list(header or ())
        self._keep = [i for i, name in enumerate(names) if name not in ERROR_COLUMNS]
        if self._csv is not None and out.tell() == 0:  # appending after a resume: no header
            self._csv.writerow([*(names[i] for i in self._keep), *ERROR_COLUMNS])
        self.count = 0

    def write(self, row: Row, field: str, message: str) -> None:
        """Add ``row`` with its line, the failing field (its column) and the message."""
        self.count += 1
        if self._csv is None:
            self._out.write(_json_line(row, field, message) + "\n")
            return
        for cells in row.raw if not isinstance(row.raw, str) and row.raw else [[]]:
            kept = [cells[i] if i < len(cells) else "" for i in self._keep]
            self._csv.writerow([*kept, str(row.line), field, message])

    def flush(self) -> None:
        """Push what was written to the file (a job's error report is read while it runs)."""
        self._out.flush()


def _json_line(row: Row, field: str, message: str) -> str:
    error = {"line": row.line, "field": field, "message": message}
    obj: Any
    try:
        obj = json.loads(row.raw) if isinstance(row.raw, str) and row.raw else None
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        obj.pop(ERROR_KEY, None)
        obj[ERROR_KEY] = error
    else:
        obj = {ERROR_KEY: {**error, "text": row.raw[:1000] if isinstance(row.raw, str) else ""}}
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
