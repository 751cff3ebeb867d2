"""The search-backend contract shared by the embedded (tantivy) and Elasticsearch engines.

Exception tree::

    BackendError
    ├── BackendUnavailable   transient (down, 429, 5xx, timeout): retry the batch with backoff
    ├── DocumentRejected     permanent for one document: dead-letter it and move on
    └── IncompatibleIndex    the active index was built with another schema: run a full reindex

Writes are idempotent and versioned: an op whose version is not greater than the stored version
of that id (live document or hard-delete tombstone) is skipped, so replays and out-of-order
delivery never resurrect or roll back a customer.

:meth:`SearchBackend.bulk_load` is the reindex copy's fast path into a *fresh* generation: it
keeps the same version rule against whatever ``apply`` wrote there (the sync loop's dual
writes), but skips the per-document lookups and deletes a populated index needs.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType

    from indexers.documents import SearchDoc
    from indexers.query import Hit, ListQuery, RankedQuery

__all__ = [
    "ApplyResult",
    "BackendError",
    "BackendUnavailable",
    "Delete",
    "DocumentRejected",
    "IncompatibleIndex",
    "Listed",
    "ReadBack",
    "SearchBackend",
    "Upsert",
]


class BackendError(Exception):
    """Any failure of a search backend."""


class BackendUnavailable(BackendError):
    """Transient failure: nothing or part of the batch applied; retry the whole batch."""


class IncompatibleIndex(BackendError):
    """The index on disk was built with another schema version; rebuild it (full reindex)."""


class DocumentRejected(BackendError):
    """The backend permanently refuses one document."""

    def __init__(self, id: str, reason: str) -> None:
        super().__init__(f"{id}: {reason}")
        self.id = id
        self.reason = reason


@dataclass(slots=True)
class Upsert:
    """Index the whole document (never a partial update)."""

    doc: SearchDoc

    @property
    def id(self) -> str:
        return self.doc.id

    @property
    def version(self) -> int:
        return self.doc.version


@dataclass(slots=True)
class Delete:
    """Hard delete; a tombstone keeps ``version`` so a stale Upsert cannot resurrect the id."""

    id: str
    version: int


@dataclass(slots=True)
class ApplyResult:
    """Outcome of :meth:`SearchBackend.apply`: the permanently rejected items."""

    rejected: list[tuple[str, str]] = field(default_factory=list)  # (customer id, reason)


@dataclass(frozen=True, slots=True)
class Listed:
    """One customer of a list page: its id and its stored response document (None: the index
    holds none for it, see :mod:`indexers.listed`)."""

    id: str
    document: bytes | None


@dataclass
class ReadBack:
    """The live documents of a generation, read back from the index itself (see
    :meth:`SearchBackend.read_back`): how many, and the documents in batches."""

    total: int
    batches: AsyncIterator[list[SearchDoc]]


class SearchBackend(abc.ABC):
    """One search index of customer documents, with named generations behind an active pointer."""

    # -- writes ---------------------------------------------------------------------------
    @abc.abstractmethod
    async def apply(self, ops: Sequence[Upsert | Delete]) -> ApplyResult:
        """Apply ops idempotently, skipping those not newer than the stored version.

        :raise BackendUnavailable: on a transient failure (the caller retries the whole batch).
        """

    async def bulk_load(self, docs: Sequence[SearchDoc]) -> ApplyResult:
        """Add the copy of a reindex to a generation made by :meth:`create_generation`.

        Each id may be loaded once per generation; ``apply`` may run meanwhile (dual writes)
        and the newer version still wins. Loaded documents may stay invisible until
        :meth:`refresh`. The default is a plain versioned ``apply``; engines override it when
        skipping the lookups is faster.

        :raise BackendUnavailable: on a transient failure (the caller retries the whole batch).
        """
        return await self.apply([Upsert(doc) for doc in docs])

    @abc.abstractmethod
    async def refresh(self) -> None:
        """Make applied (and bulk-loaded) writes visible to readers."""

    @abc.abstractmethod
    async def release_writer(self) -> None:
        """Give up any exclusive write lock (tantivy allows one writer per index) but stay
        readable, so a standby indexer in another process can take over the writes."""

    # -- inspection -----------------------------------------------------------------------
    @abc.abstractmethod
    async def versions(self, ids: Sequence[str] | None = None) -> dict[str, int]:
        """Return live (non-tombstone) id → version, for ``ids`` or for all (``None``)."""

    @abc.abstractmethod
    async def documents(self, ids: Sequence[str]) -> dict[str, SearchDoc]:
        """Return the stored live documents of ``ids`` (absent ids are left out).

        Lets verification compare content, not only versions. Fields the index derives rather
        than stores come back derived: ``phone_digits`` is the digits of ``phone``.
        """

    @abc.abstractmethod
    async def count(self) -> int:
        """Return the number of live documents (soft-deleted customers included)."""

    async def duplicated(self) -> list[str]:
        """Return the ids that have more than one live document (a broken index).

        An engine that keys documents by customer id cannot hold two (Elasticsearch). The
        embedded engine deletes the old document before it adds the new one; tantivy lost
        such a delete now and then before ``Generation`` worked around it, which left both.
        """
        return []

    # -- reads ----------------------------------------------------------------------------
    @abc.abstractmethod
    async def list_ids(self, query: ListQuery) -> tuple[list[str], int]:
        """Return one page of ids and the total count, exactly as MongoDB would.

        :raise NotServable: when the query cannot be answered exactly.
        """

    @abc.abstractmethod
    async def list_documents(self, query: ListQuery) -> tuple[list[Listed], int]:
        """:meth:`list_ids`, with each customer's stored response document (one search: a
        list page then needs no MongoDB read)."""

    @abc.abstractmethod
    async def search(self, query: RankedQuery) -> tuple[list[Hit], int]:
        """Return the best hits of a ranked lookup and the number of matching customers."""

    # -- generations (zero-downtime reindex) ----------------------------------------------
    @abc.abstractmethod
    async def create_generation(self) -> str:
        """Create a new empty index version and return its name."""

    @abc.abstractmethod
    def writer_for(self, generation: str) -> SearchBackend:
        """Return a backend writing into (and reading from) ``generation``."""

    @abc.abstractmethod
    async def activate(self, generation: str) -> None:
        """Atomically switch readers (and the default writer) to ``generation``."""

    @abc.abstractmethod
    async def drop_generation(self, generation: str) -> None:
        """Delete ``generation`` (never the active one)."""

    @abc.abstractmethod
    async def generations(self) -> list[str]:
        """Return the names of every generation, oldest first."""

    @abc.abstractmethod
    async def active_generation(self) -> str | None:
        """Return the generation readers use, or None before the first activation."""

    async def read_back(self, generation: str) -> ReadBack | None:
        """Read the live documents of ``generation`` back from the index alone, even when
        this code cannot search it (built with another schema), if they are exactly the
        documents this code would write; None (the default): only MongoDB can rebuild it."""
        return None

    # -- lifecycle ------------------------------------------------------------------------
    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""

    async def __aenter__(self) -> SearchBackend:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
