"""The service's bulk import method."""

from __future__ import annotations

from typing import IO, BinaryIO

from app.service.importing import ImportReport, Mode, Progress, run_import
from app.service.methods.base import ServiceBase

__all__ = ["ImportMethods"]


class ImportMethods(ServiceBase):
    """Customers (and groups) from a file."""

    async def import_customers(
        self,
        source: BinaryIO,
        *,
        format: str | None = None,
        mode: str = Mode.UPSERT,
        dry_run: bool = False,
        error_file: IO[str] | None = None,
        progress: Progress | None = None,
        actor: str | None = None,
        source_name: str | None = None,
        skip: int = 0,
    ) -> ImportReport:
        """Import customers from ``source`` (a binary file): our JSONL, our CSV or
        Shopify's customer CSV (``format``, else told from the first line), gzipped or not.

        ``mode``: ``create`` (rows matching a stored customer fail), ``update`` (rows matching
        none fail) or ``upsert``. A row matches by ``id``, else by email and ``has_account``.
        Every row is validated as the API validates; a bad row is counted, written to
        ``error_file`` (the file's layout plus its line, field and message) and skipped.
        ``dry_run`` validates and counts, and writes nothing. ``progress`` is called (or
        awaited) after every batch; ``skip`` passes over rows a previous run did. ``actor``
        is ``created_by`` of what is created; ``source_name`` is recorded in each created
        customer's ``provenance.imported`` (CSV and Shopify; a JSONL restore keeps the
        provenance it has). A second run of the same file reports every row unchanged.

        :raise InvalidData: the file's layout cannot be told, or a header is bad (no row is
            imported).
        """
        size = _size_of(source)
        return await run_import(
            self._store,
            source,
            format=format,
            mode=mode,
            dry_run=dry_run,
            actor=actor,
            source_name=source_name,
            error_file=error_file,
            progress=progress,
            skip=skip,
            size=size,
        )


def _size_of(source: BinaryIO) -> int | None:
    """The file's size in bytes, when it is a file with one."""
    try:
        start = source.tell()
        end = source.seek(0, 2)
        source.seek(start)
        return end
    except (OSError, ValueError, AttributeError):
        return None
