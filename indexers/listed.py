"""The response document the index stores with each customer, so a list page needs no MongoDB read.

It is what the service returns for a customer read without ``select`` or relations (every
public field of the declaration, as :class:`app.dto.CustomerDTO` holds it), as that DTO's
JSON: the same stored fields in the same order, written by the same serializer
(pydantic-core's, without building the DTO: the reindex runs this for every customer, and
validating costs three times as much), so the page served from the index and the page
hydrated from MongoDB serialise to the same bytes (``tests/indexers/test_listed.py``
compares both on varied data). The service validates the document when it builds the DTO;
one the DTO refuses (data written around the service) is hydrated from MongoDB instead. The
fields it reads are added to :data:`indexers.documents.DOC_FIELDS`, the projection of change
events and of the reindex's reads. Pure, no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from app.entities import CUSTOMER, Kind

__all__ = ["LISTED_PATHS", "LISTED_SHAPE", "listed_document"]

log = logging.getLogger(__name__)

LISTED_SHAPE = tuple((f.name, f.path, f.kind is Kind.DATE) for f in CUSTOMER.public)
"""(name, stored path, is a date) of each field of a response document, in its order: part of
the index fingerprint, since an index keeps the documents it was given."""
LISTED_PATHS = tuple(path for _, path, _ in LISTED_SHAPE)
"""The stored ``customers`` fields a response document is built from."""


def _utc(value: Any) -> Any:
    """A naive datetime as UTC (BSON dates are UTC; a client without ``tz_aware`` hands them
    back naive, and the service's own client is tz-aware)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _plain(value: Any) -> Any:
    """What the serializer cannot write itself: a mapping that is not a ``dict`` (the
    reindex reads ``RawBSONDocument``s, whose sub-documents are ``RawBSONDocument``s too)."""
    if isinstance(value, Mapping):
        return dict(value)
    raise PydanticSerializationError(f"cannot store a {type(value).__name__}")


def listed_document(customer: Mapping[str, Any]) -> bytes | None:
    """The response document of a raw ``customers`` document, as JSON bytes (None: a value
    JSON cannot hold, so MongoDB keeps answering its pages)."""
    get = customer.get
    values = {name: _utc(get(path)) if date else get(path) for name, path, date in LISTED_SHAPE}
    try:
        return to_json(values, fallback=_plain)
    except PydanticSerializationError:
        log.warning("customer %s has no response document in the index", get("_id"))
        return None
