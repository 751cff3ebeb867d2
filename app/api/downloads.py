"""Files a job wrote, sent as response bodies (an export's file, an import's error report)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

__all__ = ["FILE_CHUNK", "file_chunks"]

FILE_CHUNK = 256 * 1024  # bytes per chunk of a downloaded file


def file_chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes in pieces, opened only once the body is read (and closed when it
    was), so an answer whose body is never read holds no open file."""
    with path.open("rb") as file:
        while chunk := file.read(FILE_CHUNK):
            yield chunk
