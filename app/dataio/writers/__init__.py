"""Writers of the export layouts (:mod:`app.dataio.layout`): stored documents in, bytes out.

Pure and synchronous: a writer turns a page of stored customer documents (as
``app.service.exports`` reads them) into the bytes of one chunk of the file; where they come
from and where the bytes go is the caller's business. :func:`writer_for` picks one by format.
"""

from __future__ import annotations

from app.dataio.layout import Format
from app.dataio.writers.base import Writer
from app.dataio.writers.jsonl import JsonlWriter
from app.dataio.writers.shopify import ShopifyWriter
from app.dataio.writers.table import CsvWriter

__all__ = ["CsvWriter", "JsonlWriter", "ShopifyWriter", "Writer", "writer_for"]

_WRITERS: dict[Format, type[Writer]] = {
    Format.JSONL: JsonlWriter,
    Format.CSV: CsvWriter,
    Format.SHOPIFY: ShopifyWriter,
}


def writer_for(fmt: Format) -> Writer:
    """A new writer of ``fmt``."""
    return _WRITERS[fmt]()
