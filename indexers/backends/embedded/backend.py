"""The embedded engine's backend: tantivy generations under the data directory.

All tantivy calls run in worker threads (``asyncio.to_thread``; searches in the read pool of
:class:`~indexers.backends.embedded.generations.Generations`); ``release_writer`` lets the
index lock go so that another process can write, reads go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from indexers.backends.base import (
    ApplyResult,
    BackendError,
    BackendUnavailable,
    Delete,
    Listed,
    ReadBack,
    SearchBackend,
    Upsert,
)
from indexers.backends.embedded.generation import Generation
from indexers.backends.embedded.generations import Generations
from indexers.backends.embedded.readback import read_back
from indexers.documents import SearchDoc
from indexers.query import Hit, ListQuery, NotServable, RankedQuery

__all__ = ["EmbeddedBackend"]

T = TypeVar("T")


class EmbeddedBackend(SearchBackend):
    """tantivy generations under ``root``; writes go to the active one unless pinned.

    :param root: directory holding the generations and the ``ACTIVE`` pointer.
    :param read_threads: searches running at once (``CUSTOMERS_SEARCH_CONCURRENCY``); more wait.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        read_threads: int = 4,
        _shared: Generations | None = None,
        _pinned: str | None = None,
    ) -> None:
        self.root = Path(root)
        self._shared = _shared or Generations(self.root, read_threads)
        self._pinned = _pinned

    def __repr__(self) -> str:
        target = f" generation={self._pinned}" if self._pinned else ""
        return f"<EmbeddedBackend {self.root}{target}>"

    # -- helpers --
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args)
        except BackendError:
            raise
        except OSError as exc:
            raise BackendUnavailable(f"tantivy: {exc}") from exc

    async def _search(self, fn: Callable[[], T]) -> T:
        """Run a search in the read pool: it keeps its thread until done, even when its caller
        stopped waiting, so at most ``read_threads`` searches ever use CPU at once."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._shared.readers(), fn)
        except BackendError:
            raise
        except OSError as exc:
            raise BackendUnavailable(f"tantivy: {exc}") from exc

    def _target(self) -> Generation | None:
        """The generation this backend reads and writes, if there is one yet."""
        name = self._pinned or self._shared.read_active()
        return None if name is None else self._shared.open(name)

    def _write_target(self) -> Generation:
        """The generation writes go to: the first write creates (and activates) one."""
        return self._target() or self._shared.open(self._shared.create_and_activate_first())

    def _reader(self) -> Generation:
        generation = self._target()
        if generation is None:
            raise NotServable("no active search index yet")
        return generation

    # -- writes --
    async def apply(self, ops: Sequence[Upsert | Delete]) -> ApplyResult:
        if not ops:
            return ApplyResult()
        return await self._run(lambda: self._write_target().apply(ops))

    async def bulk_load(self, docs: Sequence[SearchDoc]) -> ApplyResult:
        if not docs:
            return ApplyResult()
        result = await self._run(lambda: self._write_target().bulk_load(docs))
        if result is None:  # opened from disk, or already active: the versioned path
            return await self.apply([Upsert(doc) for doc in docs])
        return result

    async def refresh(self) -> None:
        generation = self._target()
        if generation is not None:
            await self._run(generation.refresh)

    async def release_writer(self) -> None:
        if self._pinned is None:
            await self._run(self._shared.release_writers)
            return
        generation = self._target()
        if generation is not None:
            await self._run(generation.release_writer)

    # -- inspection --
    async def versions(self, ids: Sequence[str] | None = None) -> dict[str, int]:
        generation = self._target()
        if generation is None:
            return {}
        if ids is None:
            return await self._run(generation.all_versions)
        return await self._run(lambda: generation.stored_versions(list(ids), tombstones=False))

    async def documents(self, ids: Sequence[str]) -> dict[str, SearchDoc]:
        generation = self._target()
        if generation is None or not ids:
            return {}
        return await self._run(generation.documents, list(ids))

    async def count(self) -> int:
        generation = self._target()
        return 0 if generation is None else await self._run(generation.count)

    async def duplicated(self) -> list[str]:
        generation = self._target()
        return [] if generation is None else await self._run(generation.duplicated)

    # -- reads --
    async def list_ids(self, query: ListQuery) -> tuple[list[str], int]:
        return await self._search(lambda: self._reader().list_ids(query))

    async def list_documents(self, query: ListQuery) -> tuple[list[Listed], int]:
        return await self._search(lambda: self._reader().list_documents(query))

    async def search(self, query: RankedQuery) -> tuple[list[Hit], int]:
        return await self._search(lambda: self._reader().search(query))

    # -- generations --
    async def create_generation(self) -> str:
        return await self._run(self._shared.create)

    def writer_for(self, generation: str) -> EmbeddedBackend:
        if not self._shared.exists(generation):
            raise BackendError(f"no generation {generation!r}")
        return EmbeddedBackend(self.root, _shared=self._shared, _pinned=generation)

    async def activate(self, generation: str) -> None:
        await self._run(self._shared.activate, generation)

    async def drop_generation(self, generation: str) -> None:
        await self._run(self._shared.drop, generation)

    async def generations(self) -> list[str]:
        return await self._run(self._shared.names)

    async def active_generation(self) -> str | None:
        return await self._run(self._shared.read_active)

    async def read_back(self, generation: str) -> ReadBack | None:
        opened = await self._run(read_back, self.root / generation)
        if opened is None:
            return None
        total, batches = opened
        return ReadBack(total, self._each(batches))

    async def _each(self, batches: Iterator[list[SearchDoc]]) -> AsyncIterator[list[SearchDoc]]:
        """The batches of a blocking iterator, each read in a worker thread."""
        while (batch := await self._run(next, batches, None)) is not None:
            yield batch

    async def close(self) -> None:
        if self._pinned is None:  # views made by writer_for share the root's handles
            await asyncio.to_thread(self._shared.close)
