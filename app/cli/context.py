"""What the one-shot commands share: run work inside a connected context on a fresh loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from app.config import Settings

__all__ = ["configure_logging", "run_in"]

C = TypeVar("C")
T = TypeVar("T")


def run_in(context: AbstractAsyncContextManager[C], work: Callable[[C], Awaitable[T]]) -> T:
    """Run ``work(value)`` with ``context``'s value on a fresh loop (``asyncio.run``)."""

    async def main() -> T:
        async with context as value:
            return await work(value)

    return asyncio.run(main())


def configure_logging(settings: Settings, handler: logging.Handler | None = None) -> None:
    """Plain log lines on stderr (or to ``handler``) at ``CUSTOMERS_LOG_LEVEL``."""
    logging.basicConfig(
        level=getattr(logging, settings.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[handler] if handler is not None else None,
    )
