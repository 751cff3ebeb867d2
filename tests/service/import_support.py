"""Helpers of the import tests: files in each layout, and running an import on bytes."""

from __future__ import annotations

import io
import json
from typing import Any

from app.dataio.layout import SHOPIFY_COLUMNS

SHOPIFY_HEADER = ",".join(SHOPIFY_COLUMNS)


def quoted(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def shopify(*rows: dict[str, str], bom: bool = False, newline: str = "\r\n") -> bytes:
    """A Shopify customer CSV with ``rows`` (cells by column name)."""
    lines = [SHOPIFY_HEADER]
    for cells in rows:
        lines.append(",".join(quoted(cells.get(name, "")) for name in SHOPIFY_COLUMNS))
    text = newline.join(lines) + newline
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def jsonl(*objects: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


def run_import(service: Any, data: bytes, **options: Any) -> tuple[Any, str]:
    """Import ``data``; the report and the error file's text."""
    errors = io.StringIO(newline="")
    report = service.import_customers(io.BytesIO(data), error_file=errors, **options)
    return report, errors.getvalue()


def counts(report: Any) -> tuple[int, int, int, int]:
    c = report.counts
    return c.created, c.updated, c.unchanged, c.failed


def raw_customers(service: Any) -> list[dict[str, Any]]:
    """Every stored customer document, by id."""
    return service.run(service.aio.store.customers.find().sort("_id", 1).to_list())
