"""The service's streaming export: customers matching the list's filters, as a file's bytes."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field

from app.dataio.layout import Format
from app.dataio.writers import Writer, writer_for
from app.entities import CUSTOMER
from app.errors import InvalidData, quote
from app.filtering import compile_filters
from app.service import exports
from app.service.methods.base import Filters, ServiceBase
from app.service.queries import mongo_query
from app.service.store import Store

__all__ = ["CustomerExport", "ExportMethods"]

_GZIP = 31  # zlib's wbits for a gzip container
_GZIP_LEVEL = 6  # zlib's default: ~4x smaller JSONL at a fraction of the export's time


@dataclass(eq=False)
class CustomerExport:
    """One export, ready to stream: iterate it (``async for chunk in export``) for the file's
    bytes, a chunk per page of customers; its counters move as it goes (for a progress bar)."""

    writer: Writer
    gzip: bool
    total: int
    """Customers stored when the export started (an estimate, for a progress bar)."""
    chunks: AsyncIterator[bytes] = field(init=False, repr=False)
    written: int = 0
    """Customers written so far."""

    @property
    def media_type(self) -> str:
        """The file's ``Content-Type``."""
        return "application/gzip" if self.gzip else self.writer.media_type

    @property
    def extension(self) -> str:
        """The file name's extension (``jsonl``, ``csv``, ``csv.gz`` ...)."""
        return f"{self.writer.extension}.gz" if self.gzip else self.writer.extension

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.chunks

    async def aclose(self) -> None:
        """Stop reading (a client that went away); a no-op once the export is done."""
        aclose = getattr(self.chunks, "aclose", None)
        if aclose is not None:
            await aclose()


class ExportMethods(ServiceBase):
    """Exports: every customer matching a filter, in one of the layouts of ``app.dataio``."""

    async def export_customers(
        self,
        filters: Filters = None,
        *,
        format: Format | str = Format.JSONL,
        with_deleted: bool = False,
        gzip: bool = False,
        page_size: int = exports.PAGE,
    ) -> CustomerExport:
        """Export the customers matching ``filters`` (the customer list's filters, ``q`` and
        ``groups`` included); nothing is read until the export is iterated.

        Bad filters or format are ``invalid_data`` here, before the first byte. The file is
        consistent (a customer created or deleted meanwhile is in it once or not at all) and
        read ``page_size`` customers at a time, so memory does not grow with the result (see
        :mod:`app.service.exports`). A JSONL file starts with every group (deleted ones too
        with ``with_deleted``: then the file holds everything stored).
        """
        fmt = _format(format)
        where = compile_filters(filters, CUSTOMER)
        if not 0 < page_size <= exports.PAGE:
            raise InvalidData(f"page_size must be between 1 and {exports.PAGE}")
        query = await mongo_query(self._store, where, CUSTOMER, with_deleted)
        total = await self._store.customers.estimated_document_count()
        export = CustomerExport(writer_for(fmt), gzip, total)
        chunks = _stream(self._store, export, query, with_deleted, page_size)
        export.chunks = _gzipped(chunks) if gzip else chunks
        return export


def _format(value: Format | str) -> Format:
    try:
        return Format(value)
    except ValueError:
        choices = ", ".join(f.value for f in Format)
        raise InvalidData(
            f"Invalid request: format must be one of {choices}, got '{quote(str(value))}'"
        ) from None


async def _stream(
    store: Store, export: CustomerExport, query: dict[str, object], with_deleted: bool, size: int
) -> AsyncIterator[bytes]:
    """The file's bytes: header, group lines (JSONL), then a chunk per page of customers.

    The page readers are closed explicitly (``aclosing``) when the export stops early: left to
    the garbage collector, their open cursors would be closed by a task nobody awaits."""
    writer = export.writer
    head = writer.header()
    if head:
        yield head
    if writer.group_lines:
        async with aclosing(exports.group_pages(store, with_deleted=with_deleted)) as groups:
            async for docs in groups:
                yield writer.groups(docs)
    pages = exports.customer_pages(store, query, with_deleted=with_deleted, page=size)
    async with aclosing(pages):
        async for page in pages:
            export.written += len(page.customers)
            yield writer.customers(page.customers, page.groups)


async def _gzipped(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` compressed as one gzip stream, a compressed chunk per chunk."""
    compressor = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, _GZIP)
    try:
        async for chunk in chunks:
            compressed = compressor.compress(chunk)
            if compressed:
                yield compressed
        yield compressor.flush()
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
