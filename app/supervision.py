"""A watchdog thread: notice that something we depend on died, and have it repaired.

:class:`app.embedded.EmbeddedServer` runs one per handle on a shared data directory: ``alive``
is a ``/proc`` look-up of the server's pid (microseconds, so it can run twice a second), and
``repair`` restarts the server or adopts the one another process restarted (serialised between
processes by the server's flock, so exactly one of them starts it).

A repair that fails (the storage is locked by a foreign program, the disk is full, ...) is
logged and retried with exponential backoff, so a server that cannot start does not spin.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Watchdog"]

log = logging.getLogger("customers.supervision")

MAX_BACKOFF_SECONDS = 30.0  # longest wait between two failed repairs


class Watchdog:
    """Call ``repair()`` whenever ``alive()`` says no, checking every ``interval`` seconds.

    :param name: what is watched (thread name and log messages).
    :param alive: cheap check, called from the watchdog thread.
    :param repair: brings it back; may raise (logged, retried with backoff).
    :param interval: seconds between two checks.
    """

    def __init__(
        self,
        name: str,
        alive: Callable[[], bool],
        repair: Callable[[], None],
        *,
        interval: float,
    ) -> None:
        self.name = name
        self.interval = interval
        self._alive = alive
        self._repair = repair
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watchdog-{name}", daemon=True)

    def start(self) -> Watchdog:
        """Start watching (in a daemon thread)."""
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop watching; wait for a repair in progress to finish (up to ``timeout``)."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stopped.wait(self._delay(failures)):
            try:
                if not self._alive():
                    self._repair()
                failures = 0
            except Exception:
                failures += 1
                log.exception(
                    "%s: repair failed (attempt %d); retrying in %.1fs",
                    self.name,
                    failures,
                    self._delay(failures),
                )

    def _delay(self, failures: int) -> float:
        return min(self.interval * 2**failures, MAX_BACKOFF_SECONDS)
