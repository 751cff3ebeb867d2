"""Errors → JSON responses: ``{type, message}`` with Medusa's status mapping.

Auth failures are 401 ``{message: "Unauthorized"}`` (Medusa's body). ``unexpected_state``
(:class:`app.errors.Unavailable`: database unreachable, overloaded, query budget spent) is 503
with ``Retry-After``, and so is any PyMongo connection failure or timeout that reaches here:
retrying later can succeed, so it is never a 500. :class:`app.errors.RateLimited` (too many
failed authentications or registrations from one address) is 429 with ``Retry-After``;
:class:`app.errors.Forbidden` (a read-only key asking to write) is 403 ``not_allowed``.
Anything else we did not raise on purpose is 500 ``unknown_error`` with a fixed message; the
detail goes to the log only.
"""

from __future__ import annotations

import logging
import math

from flask import Flask, g
from flask.typing import ResponseReturnValue
from pymongo.errors import ConnectionFailure, PyMongoError
from werkzeug.exceptions import HTTPException

from app import metrics
from app.credentials import AuthError
from app.errors import CustomerModuleError, Forbidden, RateLimited, Unavailable

__all__ = ["STATUS", "init_app"]

STATUS = {
    "invalid_data": 400,
    "not_allowed": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "precondition_failed": 412,
    "duplicate_error": 422,
    "unexpected_state": 503,
}
UNKNOWN = {"type": "unknown_error", "message": "An unknown error occurred."}
MAX_BODY_MESSAGE = "Request body is larger than 1 MiB"

_HTTP_TYPES = {404: "not_found", 405: "not_allowed", 413: "invalid_data"}

log = logging.getLogger("customers.api")


def _retry_after(seconds: float) -> list[tuple[str, str]]:
    return [("Retry-After", str(max(1, math.ceil(seconds))))]


def _service_error(exc: CustomerModuleError) -> ResponseReturnValue:
    status = STATUS.get(exc.type, 500)
    if isinstance(exc, Unavailable):
        return exc.to_dict(), 503, _retry_after(exc.retry_after)
    if isinstance(exc, RateLimited):
        return exc.to_dict(), 429, _retry_after(exc.retry_after)
    if isinstance(exc, Forbidden):
        return exc.to_dict(), 403
    if status == 500:
        log.error(
            "service error %s: %s", exc.type, exc.message, extra={"request_id": g.get("request_id")}
        )
        return dict(UNKNOWN), 500
    body = exc.to_dict()
    if exc.type == "duplicate_error":
        body["code"] = "invalid_request_error"
    return body, status


def _auth_error(exc: AuthError) -> ResponseReturnValue:
    return {"message": "Unauthorized"}, 401


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    if status >= 500:
        log.error("HTTP %s", status, exc_info=exc, extra={"request_id": g.get("request_id")})
        return dict(UNKNOWN), 500
    if status == 413:
        message = MAX_BODY_MESSAGE
    elif status == 404:
        message = "Not found"
    elif status == 405:
        message = "Method not allowed"
    elif status == 415:
        message = exc.description or exc.name  # says which content type is expected
    else:
        message = exc.name
    response = exc.get_response()
    headers = [(k, v) for k, v in response.headers.items() if k.lower() == "allow"]
    return {"type": _HTTP_TYPES.get(status, "invalid_data"), "message": message}, status, headers


def _database_error(exc: PyMongoError) -> ResponseReturnValue:
    """Unreachable or timed out → 503 (retry later); any other driver error → 500."""
    metrics.count_database_error(exc)
    if isinstance(exc, ConnectionFailure) or exc.timeout:
        log.warning(
            "database unavailable: %s",
            type(exc).__name__,
            extra={"request_id": g.get("request_id")},
        )
        return _service_error(Unavailable("The database is unavailable; try again shortly."))
    return _unexpected(exc)


def _unexpected(exc: Exception) -> ResponseReturnValue:
    log.error(
        "unhandled %s", type(exc).__name__, exc_info=exc, extra={"request_id": g.get("request_id")}
    )
    return dict(UNKNOWN), 500


def init_app(app: Flask) -> None:
    """Register the JSON error handlers."""
    app.register_error_handler(CustomerModuleError, _service_error)
    app.register_error_handler(AuthError, _auth_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(PyMongoError, _database_error)
    app.register_error_handler(Exception, _unexpected)
