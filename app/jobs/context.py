"""What a running job's handler gets: its parameters, its directory, and a way to report."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.jobs.model import MAX_ERRORS_KEPT

if TYPE_CHECKING:
    from app.jobs.store import JobStore
    from app.service import CustomerModuleService

__all__ = ["REPORT_INTERVAL", "JobCancelled", "JobContext"]

REPORT_INTERVAL = 0.5
"""Seconds between two writes of a job's progress (reports in between only update memory)."""


class JobCancelled(Exception):
    """Raised by :meth:`JobContext.report` once someone asked to cancel the job."""


@dataclass(eq=False)
class JobContext:
    """A running job, as its handler sees it.

    ``checkpoint`` is the last one the handler saved through :meth:`report` before an
    interruption (``None`` on a first run): a resumable handler continues from there.
    """

    id: str
    kind: str
    params: Mapping[str, Any]
    checkpoint: dict[str, Any] | None
    directory: Path
    service: CustomerModuleService
    _store: JobStore
    _pending: dict[str, Any] = field(default_factory=dict)
    _errors: list[Any] = field(default_factory=list)
    _last_write: float = 0.0

    async def report(
        self,
        *,
        done: int | None = None,
        total: int | None = None,
        counts: Mapping[str, int] | None = None,
        errors: Iterable[Any] = (),
        checkpoint: Mapping[str, Any] | None = None,
        force: bool = False,
    ) -> None:
        """Record progress; written to the job's document at most every
        :data:`REPORT_INTERVAL` seconds (``force``: now, e.g. with a checkpoint that must
        not be lost). ``errors`` are appended; the document keeps the first
        :data:`~app.jobs.model.MAX_ERRORS_KEPT`.

        :raise JobCancelled: cancelling the job was asked for (checked on each write).
        """
        if done is not None:
            self._pending["progress.done"] = done
        if total is not None:
            self._pending["progress.total"] = total
        if counts is not None:
            self._pending["counts"] = dict(counts)
        if checkpoint is not None:
            self._pending["checkpoint"] = dict(checkpoint)
        room = MAX_ERRORS_KEPT - len(self._errors)
        if room > 0:
            new = list(errors)[:room]
            if new:
                self._errors.extend(new)
                self._pending["errors"] = list(self._errors)
        now = time.monotonic()
        if not (force or now - self._last_write >= REPORT_INTERVAL) or not self._pending:
            return
        self._last_write = now
        pending, self._pending = self._pending, {}
        if await self._store.update_running(self.id, pending):
            raise JobCancelled
