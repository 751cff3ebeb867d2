"""One entry point for reading an import file, whatever its layout."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from app.dataio.csv_rows import read_csv
from app.dataio.jsonl import read_jsonl
from app.dataio.layout import Format
from app.dataio.rows import FileError, Row
from app.dataio.shopify import read_shopify
from app.dataio.source import Lines, detect_format, open_lines
from app.dataio.table import Table

__all__ = ["Reading", "read_file"]


@dataclass
class Reading:
    """An import file being read: its layout, its CSV header (``None`` for JSONL), its rows and
    how far into the file the reading is."""

    format: Format
    header: Sequence[str] | None
    rows: Iterator[Row]
    lines: Lines

    def position(self) -> int:
        """Bytes of the file read so far (of the compressed file, for gzip)."""
        return self.lines.position()

    def release(self) -> None:
        """Let go of the file (see :meth:`Lines.release`)."""
        self.lines.release()


def read_file(raw: BinaryIO, format: Format | str | None = None) -> Reading:
    """Start reading ``raw``: gzip and a BOM are handled, the layout is ``format`` or told
    from the first line (:raise FileError: when it cannot be told, or the header is bad)."""
    lines = open_lines(raw)
    try:
        chosen = Format(format) if format else detect_format(lines.first)
        if chosen is Format.JSONL:
            return Reading(chosen, None, read_jsonl(lines), lines)
        table = Table(lines)
        rows = read_shopify(table) if chosen is Format.SHOPIFY else read_csv(table)
        return Reading(chosen, table.header, rows, lines)
    except ValueError as exc:  # FileError included
        lines.release()
        raise FileError(str(exc)) from None
