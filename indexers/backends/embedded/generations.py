"""The generations under one root: the ``ACTIVE`` pointer, creating and dropping, the read pool.

Layout of ``root`` (``<data dir>/search``)::

    ACTIVE            name of the generation readers use (replaced atomically with os.replace)
    g-<ns>-<hex>/     one tantivy index per generation

Searches run in a pool of ``read_threads`` threads of their own, so at most that many use CPU
at once, even after their callers stopped waiting for them (tantivy cannot cancel a search).
Those threads run at a lower CPU priority (nice +:data:`SEARCH_NICENESS`): searches may take
every idle core, but never the time the event loop and the HTTP threads need (``/health``
answers at once).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from indexers.backends.base import BackendError
from indexers.backends.embedded.generation import Generation

__all__ = ["ACTIVE_FILE", "Generations"]

ACTIVE_FILE = "ACTIVE"
SEARCH_NICENESS = 10  # search threads yield the CPU to the event loop and the HTTP threads


def _lower_priority() -> None:
    """Lower this thread's CPU priority (Linux schedules threads one by one; best effort)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SEARCH_NICENESS)


class Generations:
    """The generations of one root, shared by a backend and the views ``writer_for`` returns."""

    def __init__(self, root: Path, read_threads: int) -> None:
        self.root = root
        self.read_threads = read_threads
        self._open: dict[str, Generation] = {}
        self._lock = threading.Lock()
        self._readers: ThreadPoolExecutor | None = None

    def readers(self) -> ThreadPoolExecutor:
        """The pool searches run in (made on first use)."""
        with self._lock:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(
                    self.read_threads,
                    thread_name_prefix="tantivy-search",
                    initializer=_lower_priority,
                )
            return self._readers

    def read_active(self) -> str | None:
        try:
            name = (self.root / ACTIVE_FILE).read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def exists(self, name: str) -> bool:
        return name in self._open or (self.root / name / "meta.json").exists()

    def names(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and p.name.startswith("g-"))

    def open(self, name: str) -> Generation:
        with self._lock:
            # forget generations another process dropped (after a reindex switched readers)
            for other, cached in list(self._open.items()):
                if other != name and not cached.path.exists():
                    del self._open[other]
            generation = self._open.get(name)
            if generation is None:
                path = self.root / name
                if not (path / "meta.json").exists():
                    raise BackendError(f"search index generation {name!r} is missing")
                generation = self._open[name] = Generation(path)
            return generation

    def create(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"g-{time.time_ns():020d}-{secrets.token_hex(3)}"
        path = self.root / name
        path.mkdir()
        with self._lock:
            self._open[name] = Generation(path, fresh=True)
        return name

    def create_and_activate_first(self) -> str:
        with self._lock:
            active = self.read_active()
        if active is not None:
            return active
        name = self.create()
        self.activate(name)
        return name

    def activate(self, name: str) -> None:
        if not self.exists(name):
            raise BackendError(f"no generation {name!r}")
        tmp = self.root / f".{ACTIVE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "w") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / ACTIVE_FILE)
        with self._lock:
            generation = self._open.get(name)
        if generation is not None:  # readers and the default writer use it now: no bulk loads
            generation.end_bulk()
        with contextlib.suppress(OSError):
            fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def drop(self, name: str) -> None:
        if name == self.read_active():
            raise BackendError(f"cannot drop the active generation {name!r}")
        with self._lock:
            generation = self._open.pop(name, None)
        if generation is not None:
            generation.close()
        shutil.rmtree(self.root / name, ignore_errors=True)

    def release_writers(self) -> None:
        """Drop every writer (and its lock); the open indexes stay readable."""
        with self._lock:
            generations = list(self._open.values())
        for generation in generations:
            generation.release_writer()

    def close(self) -> None:
        with self._lock:
            generations = list(self._open.values())
            self._open.clear()
            readers, self._readers = self._readers, None
        if readers is not None:
            readers.shutdown(wait=False, cancel_futures=True)
        for generation in generations:
            generation.close()
