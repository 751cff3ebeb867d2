"""Bulk import of customers from files (our JSONL and CSV, Shopify's customer CSV).

:func:`~app.service.importing.engine.run_import` is the run; ``plan`` decides what a row does
without I/O (``merge`` for CSV and Shopify rows, ``restore`` for JSONL's restore path), ``batch``
does a batch's reads and writes, ``checks`` validates with the service's input models.
"""

from app.service.importing.engine import (
    BATCH_ROWS,
    ImportCounts,
    ImportProgress,
    ImportReport,
    Progress,
    RowError,
    run_import,
)
from app.service.importing.plan import Mode

__all__ = [
    "BATCH_ROWS",
    "ImportCounts",
    "ImportProgress",
    "ImportReport",
    "Mode",
    "Progress",
    "RowError",
    "run_import",
]
