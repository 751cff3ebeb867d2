"""Opening an import file: gzip undone, UTF-8 with or without a BOM, any line ending, and
its layout told from its first line.

Everything is streamed: a file is read line by line (each line bounded by ``max_line``), never
whole, so memory does not grow with the file. The position in the underlying (maybe
compressed) file is what progress and ETA are measured in.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from app.dataio.layout import CSV_HEADER, SHOPIFY_EXPORT_COLUMNS, Format
from app.dataio.rows import FileError

__all__ = [
    "ERROR_COLUMNS",
    "MAX_LINE_CHARS",
    "TOO_LONG",
    "Lines",
    "detect_format",
    "open_lines",
]

MAX_LINE_CHARS = 16 * 1024 * 1024  # one physical line (a JSONL customer may be large)
GZIP_MAGIC = b"\x1f\x8b"

ERROR_COLUMNS = ("import_error_line", "import_error_field", "import_error_message")
"""Columns an error file adds to the rows it repeats; readers ignore them, so the error file
can be fixed and imported again as it is."""


@dataclass
class Lines:
    """The text lines of an import file, with the byte position reached in the file itself."""

    raw: BinaryIO
    text: io.TextIOWrapper
    first: str
    max_line: int = MAX_LINE_CHARS

    def position(self) -> int:
        """Bytes of the underlying file consumed so far (compressed bytes for gzip)."""
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def release(self) -> None:
        """Let go of the file without closing it (the caller opened it, the caller closes
        it): the text layer is detached, a gzip layer closed."""
        try:
            inner = self.text.detach()
        except ValueError:  # already released
            return
        if inner is not self.raw:
            inner.close()

    def __iter__(self) -> Iterator[str]:
        """Every line, the first included, with its line ending; a line longer than
        ``max_line`` is yielded as :data:`TOO_LONG`."""
        if self.first:
            yield self.first
        while True:
            line = self._bounded()
            if not line:
                return
            yield line

    def _bounded(self) -> str:
        try:
            line = self.text.readline(self.max_line)
        except UnicodeDecodeError as exc:
            raise FileError(f"The file is not UTF-8 text (byte {exc.start} of a chunk)") from None
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise FileError(f"The file cannot be read: {type(exc).__name__}") from None
        if len(line) < self.max_line or line.endswith("\n"):
            return line
        while True:  # skip the rest of an over-long line
            rest = self.text.readline(self.max_line)
            if not rest or rest.endswith("\n"):
                return TOO_LONG + "\n"


TOO_LONG = "\x00too-long\x00"
"""Stands for a line over the bound (a NUL never occurs in text we accept)."""


def open_lines(raw: BinaryIO, *, max_line: int = MAX_LINE_CHARS) -> Lines:
    """Open ``raw`` (a binary file) as text lines: gunzipped when it starts with gzip's magic
    bytes, UTF-8 with its BOM (if any) dropped, line endings kept for the CSV reader."""
    head = _peek(raw, 2)
    stream: BinaryIO = raw
    if head == GZIP_MAGIC:
        stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    lines = Lines(raw=raw, text=text, first="", max_line=max_line)
    lines.first = lines._bounded()
    return lines


def _peek(raw: BinaryIO, size: int) -> bytes:
    """The first ``size`` bytes of ``raw``, without consuming them."""
    peek = getattr(raw, "peek", None)
    if peek is not None:
        return bytes(peek(size)[:size])
    start = raw.tell()
    head = raw.read(size)
    raw.seek(start)
    return head


def detect_format(first_line: str) -> Format:
    """The layout of a file from its first line: a JSON object is our JSONL; a CSV header with
    Shopify's columns is Shopify's; one with our columns is our CSV."""
    stripped = first_line.strip()
    if not stripped:
        raise FileError("The file is empty")
    if stripped.startswith("{"):
        return Format.JSONL
    header = {name.strip() for name in next(csv.reader([stripped]), [])}
    if header & set(SHOPIFY_EXPORT_COLUMNS) and "Email" in header:
        return Format.SHOPIFY
    ours = {*CSV_HEADER, *ERROR_COLUMNS}
    if ("id" in header or "email" in header) and header <= ours:
        return Format.CSV
    raise FileError(
        "The file's layout is not recognised from its first line (our JSONL, our CSV or "
        "Shopify's customer CSV); name it with format"
    )
