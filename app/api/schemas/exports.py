"""Request and response models of the customer export routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from app.api.schemas.jobs import JobView
from app.api.schemas.requests import CustomerFilters
from app.api.schemas.values import QueryBool, SearchText
from app.dataio.layout import Format

if TYPE_CHECKING:
    from app.api.schemas.values import DerivedQuery as _Filters
else:
    _Filters = CustomerFilters

__all__ = ["EXPORT_PARAMS", "AdminCustomerExportQuery", "ExportJobResponse"]

EXPORT_PARAMS = frozenset({"format", "gzip", "with_deleted"})
"""Parameters of an export that are not customer filters."""


class AdminCustomerExportQuery(_Filters):
    """The customer list's filters, the file's layout, and whether to include deleted
    customers (a JSONL file with them is a full restore file) or to gzip the file."""

    format: Format = Format.JSONL
    gzip: QueryBool = False
    with_deleted: QueryBool = False
    q: SearchText | None = None


class ExportJobResponse(BaseModel):
    """An export job (Medusa's ``transaction_id`` is the job's id) and where its file will
    be."""

    transaction_id: str
    job: JobView
    file: str
