"""The indexer lease: one active indexer per index, the others wait as standby.

The lease lives in the state document (``owner`` + ``lease_expires_at``, see
:mod:`indexers.state`). :class:`Lease` is one indexer's side of it:

- **acquire**: take it if it is free, expired, ours, or held by a process of this host that
  no longer runs (a crashed holder: taken over at once); otherwise stand by and try again
  (at most every second), logging once that another indexer holds it. A MongoDB outage is
  one warning, not one traceback per attempt.
- **keep**: renew it every ttl/3 while the sync loop runs. Each renewal returns the state
  document, whose requests (repair, reindex) the sync loop takes. A renewal that finds
  another owner marks the lease :attr:`Lease.lost`; the sync loop then stops writing at its
  next step (every state write is fenced by owner as well).
- **release**: at a clean stop, so a standby takes over at once.

:func:`active_holder` answers the other processes' question "does an indexer run?".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import ConnectionFailure, PyMongoError

from indexers.retry import raise_if_cancelled, sleep_unless_stopped
from indexers.state import IndexerState, LeaseLost, owner_is_dead_here

__all__ = ["Lease", "active_holder"]

log = logging.getLogger("customers.indexer")

Requests = Callable[[Mapping[str, Any]], None]


class Lease:
    """One indexer's hold on the lease of ``state``'s index.

    :param state: the index's state document.
    :param owner: this indexer's owner id (``host:pid:random``).
    :param ttl: seconds a lease lasts without renewal (renewed every ttl/3).
    """

    def __init__(self, state: IndexerState, owner: str, *, ttl: float) -> None:
        self.state = state
        self.owner = owner
        self.ttl = ttl
        self.lost = False  # a renewal found another owner: stop writing

    def __repr__(self) -> str:
        return f"<Lease {self.state.name!r} owner={self.owner} ttl={self.ttl} lost={self.lost}>"

    async def acquire(
        self,
        stop: asyncio.Event,
        *,
        wait: bool,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> bool:
        """Take the lease; with ``wait``, stand by until it is ours, ``stop`` or ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        announced = unreachable = False
        while not stop.is_set():
            held_elsewhere = False
            try:
                if await self.state.try_acquire(self.owner, self.ttl):
                    self.lost = False
                    log.info("indexer %s holds the lease of %r", self.owner, self.state.name)
                    return True
                held_elsewhere = True
            except ConnectionFailure as exc:  # an outage: one line, not one traceback a second
                raise_if_cancelled()
                if not unreachable:
                    reason = type(exc).__name__
                    log.warning("lease acquisition failed: MongoDB unreachable (%s)", reason)
                unreachable = True
            except PyMongoError:
                raise_if_cancelled()
                log.warning("lease acquisition failed", exc_info=True)
            if not wait or (deadline is not None and time.monotonic() >= deadline):
                return False
            if held_elsewhere and not announced:
                log.info("another indexer holds the lease of %r; standing by", self.state.name)
                announced = True
            await sleep_unless_stopped(min(self.ttl / 3, 1.0), stop)
        return False

    async def keep(self, on_renewed: Requests | None = None) -> None:
        """Renew every ttl/3 until cancelled, or until the lease turns out lost; each renewal
        passes the state document to ``on_renewed`` (the requests other processes left)."""
        interval = self.ttl / 3
        while True:
            await asyncio.sleep(interval)
            try:
                doc = await self.state.renew(self.owner, self.ttl)
            except LeaseLost:
                self.lost = True
                log.error("indexer lease of %r lost to another instance", self.state.name)
                return
            except PyMongoError:
                raise_if_cancelled()
                log.warning("lease renewal failed; retrying", exc_info=True)
                continue
            if on_renewed is not None:
                on_renewed(doc)

    def note_lost(self) -> None:
        """Record that a fenced write found another owner (the sync loop stops writing)."""
        self.lost = True

    def check(self) -> None:
        """:raise LeaseLost: when the lease is known to be lost."""
        if self.lost:
            raise LeaseLost(self.owner)

    async def release(self) -> None:
        """Give the lease up (a standby takes over at once)."""
        await self.state.release(self.owner)


def active_holder(doc: Mapping[str, Any]) -> str | None:
    """The owner of a live lease in state document ``doc``, or None."""
    owner = doc.get("owner")
    expires = doc.get("lease_expires_at")
    if not owner or not isinstance(expires, datetime):
        return None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC) or owner_is_dead_here(owner):
        return None
    return str(owner)
