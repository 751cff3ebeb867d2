"""Structured logs: one JSON line per request, and nothing personal in them.

A request line holds the request id (``X-Request-Id`` when the client sent a sane one, else a
new one; echoed in the response), method, route template (``/admin/customers/<customer_id>``,
not the raw path or query string, which may carry emails), status, duration and actor type.
Never emails, names, phones, tokens or bodies.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, request
from flask.wrappers import Response

__all__ = ["JsonFormatter", "configure", "init_app"]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

request_log = logging.getLogger("customers.request")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str = "INFO") -> None:
    """Send the ``customers`` loggers to stderr as JSON lines (idempotent)."""
    logger = logging.getLogger("customers")
    logger.setLevel(level)
    if not any(getattr(h, "_customers", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        # a marker on our own handler, so a second setup does not add another
        handler._customers = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False


def _start() -> None:
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "")
    if request_log.isEnabledFor(logging.INFO):
        started = g.get("started")
        actor = g.get("actor")
        request_log.info(
            "request",
            extra={
                "request_id": g.get("request_id"),
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2)
                if started
                else None,
                "actor_type": actor.actor_type if actor else None,
            },
        )
    return response


def init_app(app: Flask) -> None:
    """Time every request, give it an id, and log one line when it ends."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
