"""Values as CSV cells: our CSV's rules (``true``/``false``, dates as :func:`format_date`,
objects as JSON, null as an empty cell)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.dataio.layout import format_date

__all__ = ["cell", "to_json"]

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=lambda v: _plain(v))


def _plain(value: Any) -> Any:
    """What JSON cannot hold as such: dates (e.g. in ``provenance``) as :func:`format_date`."""
    if isinstance(value, datetime):
        return format_date(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> str:
    """Compact JSON, non-ASCII kept as is (the file is UTF-8), dates formatted."""
    return _JSON.encode(value)


def cell(value: Any) -> str | None:
    """One CSV cell of a stored value (``None``: empty)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_date(value)
    return to_json(value)
