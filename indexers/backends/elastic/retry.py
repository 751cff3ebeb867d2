"""One Elasticsearch request, retried on transient failures with jittered backoff."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from indexers.backends.base import BackendError, BackendUnavailable

__all__ = ["MAX_ATTEMPTS", "RETRY_STATUS", "call"]

T = TypeVar("T")

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 6


async def call(fn: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run one request, retrying 429/5xx/connection errors with jittered backoff."""
    from elasticsearch import ApiError, NotFoundError, TransportError

    for attempt in range(MAX_ATTEMPTS):
        try:
            return await fn()
        except NotFoundError:
            raise  # callers decide: no index yet, nothing to delete, ...
        except ApiError as exc:
            if exc.meta.status not in RETRY_STATUS:
                # e.g. a 400 for the whole request: retrying cannot help
                raise BackendError(f"elasticsearch {what}: {exc}") from exc
            error: Exception = exc
        except TransportError as exc:  # connection refused, timeout
            error = exc
        if attempt < MAX_ATTEMPTS - 1:
            await asyncio.sleep(random.uniform(0, min(5.0, 0.1 * 2**attempt)))
    raise BackendUnavailable(f"elasticsearch {what}: {error}") from error
