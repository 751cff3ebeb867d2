"""What other processes ask of the active indexer, through its state document.

``customers index verify --repair`` leaves ``repair_ids``; ``customers reindex`` leaves
``reindex_requested_at`` (taken by :class:`indexers.reindex_runner.ReindexRunner`); a reader
of another process leaves ``wanted_ts`` / ``wanted_seq`` (read-your-writes: "save a position
covering this one"). The active indexer reads them at every lease renewal and on idle cycles:
whenever the stream's token moved (a request is a write, so it moves the token; idle cycles
only follow writes or a ``max_await``) and at least every :data:`READ_EVERY` seconds, so a
request is served within about a second.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bson.timestamp import Timestamp

from indexers.state import Position

__all__ = ["READ_EVERY", "Inbox", "wanted_position"]

READ_EVERY = 1.0  # seconds: the longest an idle indexer goes without reading its requests


class Inbox:
    """The requests the active indexer has taken and not served yet, and when to look again."""

    def __init__(self) -> None:
        self.repair_ids: list[str] | None = None
        self._read_at = 0.0
        self._read_token: Any = None

    def __repr__(self) -> str:
        return f"<Inbox repair={self.repair_ids}>"

    def due(self, token: Any) -> bool:
        """Whether to read the state document on this idle cycle (the stream is at ``token``)."""
        if token == self._read_token and time.monotonic() - self._read_at < READ_EVERY:
            return False
        self._read_at = time.monotonic()
        self._read_token = token
        return True

    def take(self, doc: Mapping[str, Any]) -> None:
        """Note a repair request in state document ``doc`` (one at a time)."""
        repair = doc.get("repair_ids")
        if isinstance(repair, list) and repair and self.repair_ids is None:
            self.repair_ids = [str(i) for i in repair]

    def take_repair(self) -> list[str] | None:
        """The ids to repair now, if a request is waiting (it is then served)."""
        ids, self.repair_ids = self.repair_ids, None
        return ids


def wanted_position(doc: Mapping[str, Any]) -> Position | None:
    """The position a reader of another process waits for, if any."""
    ts = doc.get("wanted_ts")
    if not isinstance(ts, Timestamp):
        return None
    seq = doc.get("wanted_seq")
    return Position(ts, int(seq) if isinstance(seq, int) else None)
