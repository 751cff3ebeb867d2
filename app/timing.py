"""Where a request's milliseconds go: named steps, summed per request, sent as ``Server-Timing``.

A route that wants its steps measured starts a :class:`Steps` (:func:`begin`); code anywhere
below it, in the WSGI thread or on the runtime's loop, adds to it with :func:`timed` (an
awaitable) or :func:`step` (a block). The steps travel in a context variable: a request's
coroutines run on the loop in a copy of the WSGI thread's context, which holds the same
:class:`Steps` object. Outside a measured request both cost one context-variable read.

The header (``Server-Timing: auth;dur=0.081, engine;dur=0.412, …``) is the standard one browser
devtools show, and what ``scripts/bench_list_steps.py`` reads. It names steps, never data.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TypeVar

__all__ = ["Steps", "begin", "current", "end", "step", "timed"]

T = TypeVar("T")


class Steps:
    """The milliseconds of each named step of one request, and when it started."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.ms: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        """Count ``seconds`` more for ``name`` (a step may run several times)."""
        self.ms[name] = self.ms.get(name, 0.0) + seconds * 1000

    def header(self, **more: float) -> str:
        """The ``Server-Timing`` value: each step, then ``more`` (e.g. the total), in ms."""
        parts = {**self.ms, **more}
        return ", ".join(f"{name};dur={ms:.3f}" for name, ms in parts.items())


_current: ContextVar[Steps | None] = ContextVar("customers_steps", default=None)


def begin() -> tuple[Steps, Token[Steps | None]]:
    """Start measuring the steps of the current request."""
    steps = Steps()
    return steps, _current.set(steps)


def end(token: Token[Steps | None]) -> None:
    """Stop measuring (the next request in this thread starts clean)."""
    _current.reset(token)


def current() -> Steps | None:
    """The steps being measured, if any."""
    return _current.get()


async def timed(name: str, awaitable: Awaitable[T]) -> T:
    """Await ``awaitable``, counting the time under ``name`` when steps are measured."""
    steps = _current.get()
    if steps is None:
        return await awaitable
    started = time.perf_counter()
    try:
        return await awaitable
    finally:
        steps.add(name, time.perf_counter() - started)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Count the time of the block under ``name`` when steps are measured."""
    steps = _current.get()
    if steps is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        steps.add(name, time.perf_counter() - started)
