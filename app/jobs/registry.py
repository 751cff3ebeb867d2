"""Job kinds: the handler that runs each, and whether an interrupted one may resume.

Modules that offer a job register its kind when imported (the blueprint that submits it
imports the handler), before the runtime's runner starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.jobs.context import JobContext

__all__ = ["Handler", "JobKind", "kind_of", "register"]

Handler = Callable[["JobContext"], Awaitable[dict[str, Any]]]
"""Runs a job; what it returns becomes the job's ``result`` (JSON-able)."""


@dataclass(frozen=True)
class JobKind:
    """A registered kind: its handler, and whether it continues from its last checkpoint
    after an interruption (else an interrupted job ends ``failed``)."""

    name: str
    handler: Handler
    resumable: bool


_KINDS: dict[str, JobKind] = {}


def register(kind: str, handler: Handler, *, resumable: bool = False) -> None:
    """Make ``handler`` run the jobs of ``kind`` (registering a kind again replaces it)."""
    _KINDS[kind] = JobKind(kind, handler, resumable)


def kind_of(name: str) -> JobKind | None:
    """The registered kind ``name``, if any."""
    return _KINDS.get(name)
