"""One tantivy generation: an index directory, its writer and write lock, reads and writes.

All calls here block (the backend runs them in worker threads); writes to one generation are
serialized by a lock, and each ``apply`` ends with a commit (durable before the caller
checkpoints). Every read takes :meth:`Generation.searcher`, which reloads first, so a commit
made by another process (``customers index``) is visible at once.

A reindex fills a fresh generation through ``bulk_load``: no version lookups, no deletes, a
commit every ``BULK_COMMIT_DOCS``; only the ids the sync loop's dual writes touched meanwhile
(remembered in memory until activation) are compared. tantivy allows one writer per index
(another process gets ``BackendUnavailable``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path

import tantivy

from indexers.backends.base import (
    ApplyResult,
    BackendError,
    BackendUnavailable,
    Delete,
    Listed,
    Upsert,
)
from indexers.backends.embedded import paging, ranked
from indexers.backends.embedded.documents import stored_docs, to_tantivy, tombstone
from indexers.backends.embedded.narrowing import Counts, Hints, Known
from indexers.backends.embedded.queries import MUST, Q
from indexers.backends.embedded.results import count_matches, documents_of
from indexers.backends.embedded.schema import SCHEMA, open_index
from indexers.backends.plan import LIVE, SOFT_DELETED, TOMBSTONE
from indexers.documents import SearchDoc
from indexers.query import Hit, ListQuery, RankedQuery

__all__ = ["BULK_COMMIT_DOCS", "Generation"]

HEAP_BYTES = 256_000_000  # split between the writer threads (tantivy needs >= 15 MB each)
# One indexing thread: on 2 cores shared with Python and MongoDB, a second one cost more CPU
# (86 vs 73 µs/doc at 100k) than it saved in wall time, and doubled the segments to merge.
WRITER_THREADS = 1
BULK_COMMIT_DOCS = 250_000  # a reindex load commits this rarely: fewer segments to merge


# No customer has this id: deleting it matches nothing (see _claim_first_opstamp).
_NO_ID = "\x00"


def _meta(path: Path) -> bytes | None:
    """The bytes of a generation's ``meta.json`` (None if it cannot be read now)."""
    try:
        return (path / "meta.json").read_bytes()
    except OSError:
        return None


def _claim_first_opstamp(writer: tantivy.IndexWriter) -> None:
    """Give a new writer's first opstamp to a delete that matches nothing.

    tantivy (0.27) starts a new writer's opstamps at the last commit's, so its first operation
    shares that opstamp with the commit. A merge that starts before the writer's own first
    commit (one is considered as soon as that commit adds a segment) applies deletes up to the
    last commit's opstamp, but skips a segment whose deletes already carry that opstamp (any
    segment the last commit deleted from), and moves the merged segment's delete cursor past
    the operation. So a first delete that targets such a segment is lost: the customer's old
    document comes back beside the one that replaced it. It happened in about 2 % of the crash
    test's runs (an indexer killed right after a commit, its successor's first write an update
    or a hard delete); ``tests/indexers/test_first_delete.py`` reproduces it every time.
    """
    writer.delete_documents_by_term("id", _NO_ID)


def _live() -> tantivy.Query:
    """The documents of customers (soft-deleted ones included), not tombstones."""
    return Q.term_set_query(SCHEMA, "state", [LIVE, SOFT_DELETED])


class Generation:
    """One tantivy index directory, with its writer (opened lazily) and write lock.

    A generation this process created (``fresh``) accepts :meth:`bulk_load` until it is
    activated: ``_applied`` remembers the version of every id ``apply`` wrote meanwhile (the
    sync loop's dual writes, a few), which is all a load needs to know to keep the newer
    version, since nothing else is in a fresh index.
    """

    def __init__(self, path: Path, *, fresh: bool = False) -> None:
        self.path = path
        self.index = open_index(path)
        # tantivy's reload stores the searcher it built unconditionally: of two reloads that
        # overlap, the one that read the older commit can finish last and leave its view in
        # place. So no background reloads, and ours run one at a time (see searcher()).
        self.index.config_reader(reload_policy="manual")
        self._view_lock = threading.Lock()
        self._viewed: bytes | None = None  # meta.json as the last reload began
        self._view: bytes | None = None  # the view's name (see view()); None: not known
        self.hints = Hints()  # where recent long list pages ended (paging reads through them)
        self.counts = Counts()  # the counts of recent lists, for the newest view
        self.lock = threading.Lock()
        self._writer: tantivy.IndexWriter | None = None
        self._applied: dict[str, int] | None = {} if fresh else None
        self._unflushed = 0  # bulk-loaded documents not committed yet
        self._broken: str | None = None  # why bulk-loaded documents were lost

    @property
    def writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self.index.writer(HEAP_BYTES, WRITER_THREADS)
            except ValueError as exc:  # tantivy reports LockBusy as a bare ValueError
                if "LockBusy" not in str(exc):
                    raise
                raise BackendUnavailable(
                    f"{self.path.name}: another writer holds the index lock "
                    "(an indexer in another process?)"
                ) from exc
            # A writer killed mid-commit leaves files its meta.json never listed (a delete
            # bitset named by segment and opstamp); replaying the same batch would write the
            # same name and fail with FileAlreadyExists forever. Remove them first.
            self._writer.garbage_collect_files()
            _claim_first_opstamp(self._writer)
        return self._writer

    def _rollback(self) -> None:
        """Discard uncommitted operations; the writer stays usable (best effort).

        tantivy's rollback opens a new writer inside the same object, whose first operation
        would share the last commit's opstamp again (see :func:`_claim_first_opstamp`).
        """
        if self._writer is None:
            return
        with contextlib.suppress(Exception):
            self._writer.rollback()
            _claim_first_opstamp(self._writer)

    def searcher(self) -> tantivy.Searcher:
        """A view holding every commit made before this call, by any thread or process.

        Reloading and taking the searcher under one lock is what guarantees it. Before, with
        two other threads reloading, a view older than the caller's own last commit came back
        after about 1.5 in 1,000 commits: ``apply`` could then miss the document it had to
        replace (and add a second one), or let a replayed older event win, and a search could
        miss a write it had waited for.

        The reload is skipped while ``meta.json`` holds the bytes it held when the last one
        began: every commit and every merge rewrites it (atomically, with the commit's new
        opstamp), so the same bytes mean that no commit ended since. A reload builds a new
        view whose doc-store cache starts cold, and a list page then reads its 50 stored
        documents at about twice the cost.
        """
        return self.view()[0]

    def view(self) -> tuple[tantivy.Searcher, bytes | None]:
        """:meth:`searcher`, and the view's name: the ``meta.json`` it was opened from, or None
        when a commit ended during the reload (the view may hold it or not; the next call
        reloads again). Two views of one name hold the same documents, so a count taken on
        one holds for the other (:class:`~indexers.backends.embedded.narrowing.Counts`)."""
        with self._view_lock:
            meta = _meta(self.path)
            if meta is None or meta != self._viewed or self._view is None:
                self.index.reload()
                self._viewed = meta
                self._view = meta if meta is not None and _meta(self.path) == meta else None
            return self.index.searcher(), self._view

    def end_bulk(self) -> None:
        """Stop accepting bulk loads (the generation became active: others may write it)."""
        with self.lock:
            self._applied = None

    def release_writer(self) -> None:
        """Commit pending bulk documents, then drop the writer and its lock; reads go on."""
        with self.lock:
            if self._writer is None:
                return
            with contextlib.suppress(Exception):
                if self._unflushed:
                    self._commit()
                self._writer.wait_merging_threads()
            self._writer = None
            self._unflushed = 0

    def close(self) -> None:
        """Drop the writer, discarding uncommitted bulk documents (the generation is being
        dropped, or the process stops and an unfinished reindex starts over anyway)."""
        with self.lock:
            if self._writer is None:
                return
            if self._unflushed:
                self._rollback()
            with contextlib.suppress(Exception):
                self._writer.wait_merging_threads()
            self._writer = None
            self._unflushed = 0

    def _commit(self) -> None:
        """Commit bulk-loaded documents (under ``self.lock``).

        If that fails they are lost, and nothing later could notice: the generation is marked
        broken, so every further write fails and the reindex rebuilds it.
        """
        try:
            self.writer.commit()
        except Exception as exc:
            self._rollback()
            self._broken = f"{type(exc).__name__}: {exc}"
            self._check()
        finally:
            self._unflushed = 0

    def _check(self) -> None:
        if self._broken is not None:
            raise BackendError(f"{self.path.name} lost bulk-loaded documents: {self._broken}")

    def refresh(self) -> None:
        """Commit bulk-loaded documents (every read reloads, so the next one sees them)."""
        with self.lock:
            if self._unflushed:
                self._commit()

    # -- blocking operations (run in a worker thread) --
    def stored_versions(self, ids: Sequence[str], *, tombstones: bool) -> dict[str, int]:
        searcher = self.searcher()
        out: dict[str, int] = {}
        if searcher.num_docs == 0:
            return out
        for start in range(0, len(ids), 10_000):
            chunk = list(ids[start : start + 10_000])
            query = Q.term_set_query(SCHEMA, "id", chunk)
            found = count_matches(searcher, query)
            for _, id, version, state in documents_of(searcher, query, found):
                if (tombstones or state != TOMBSTONE) and version > out.get(id, -1):
                    out[id] = version
        return out

    def _live_rows(self) -> list[tuple[tantivy.DocAddress, str, int, int]]:
        """(address, id, version, state) of every live document (reads every stored id)."""
        searcher = self.searcher()
        return documents_of(searcher, _live(), searcher.num_docs)

    def all_versions(self) -> dict[str, int]:
        return {id: v for _, id, v, _ in self._live_rows()}

    def duplicated(self) -> list[str]:
        """Ids with more than one live document (verification only)."""
        seen: set[str] = set()
        twice: set[str] = set()
        for _, id, _, _ in self._live_rows():
            (twice if id in seen else seen).add(id)
        return sorted(twice)

    def apply(self, ops: Sequence[Upsert | Delete]) -> ApplyResult:
        result = ApplyResult()
        with self.lock:
            self._check()
            if self._unflushed:  # the version lookup below must see bulk-loaded documents
                self._commit()
            ids = list(dict.fromkeys(op.id for op in ops))
            current = self.stored_versions(ids, tombstones=True)
            stored = set(current)
            final: dict[str, Upsert | Delete] = {}
            for op in ops:
                if op.version > current.get(op.id, -1):
                    current[op.id] = op.version
                    final[op.id] = op
            if not final:
                return result
            writer = self.writer
            written: dict[str, int] = {}
            try:
                # build and add one by one: tantivy indexes in its threads meanwhile
                for id, op in final.items():
                    try:
                        doc = (
                            to_tantivy(op.doc)
                            if isinstance(op, Upsert)
                            else tombstone(id, op.version)
                        )
                    except (ValueError, TypeError, OverflowError) as exc:
                        result.rejected.append((id, f"{type(exc).__name__}: {exc}"))
                        continue
                    if id in stored:  # only an id already in the index has a doc to replace
                        writer.delete_documents_by_term("id", id)
                    writer.add_document(doc)
                    written[id] = op.version
                writer.commit()
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, (OSError, ValueError, RuntimeError)):
                    raise BackendUnavailable(f"tantivy write failed: {exc}") from exc
                raise
            if self._applied is not None:
                self._applied.update(written)
        return result

    def bulk_load(self, docs: Sequence[SearchDoc]) -> ApplyResult | None:
        """Add copied documents with no lookups and no commit (None: not a fresh generation).

        Only ids ``apply`` wrote since the generation was created can exist, so only those
        are compared and replaced. Commits happen every ``BULK_COMMIT_DOCS`` documents, on
        :meth:`refresh` and before the next ``apply``.

        :raise BackendError: the add failed and the uncommitted documents were rolled back:
            the generation is incomplete and must be rebuilt (retrying cannot repair it).
        """
        result = ApplyResult()
        with self.lock:
            self._check()
            applied = self._applied
            if applied is None:
                return None
            writer = self.writer
            try:
                for doc in docs:
                    newer = applied.get(doc.id)
                    if newer is not None:
                        if newer >= doc.version:
                            continue
                        writer.delete_documents_by_term("id", doc.id)
                    try:
                        built = to_tantivy(doc)
                    except (ValueError, TypeError, OverflowError) as exc:
                        result.rejected.append((doc.id, f"{type(exc).__name__}: {exc}"))
                        continue
                    writer.add_document(built)
                self._unflushed += len(docs)
                if self._unflushed >= BULK_COMMIT_DOCS:
                    self._commit()
            except BackendError:
                raise  # from _commit: already marked broken
            except BaseException as exc:
                self._rollback()
                self._unflushed = 0
                self._broken = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, (OSError, ValueError, RuntimeError)):
                    raise BackendError(
                        f"tantivy bulk load failed; rebuild {self.path.name}: {exc}"
                    ) from exc
                raise
        return result

    def documents(self, ids: Sequence[str]) -> dict[str, SearchDoc]:
        searcher = self.searcher()
        out: dict[str, SearchDoc] = {}
        if searcher.num_docs == 0:
            return out
        live = _live()
        for start in range(0, len(ids), 10_000):
            chunk = list(ids[start : start + 10_000])
            query = Q.boolean_query([(MUST, Q.term_set_query(SCHEMA, "id", chunk)), (MUST, live)])
            found = count_matches(searcher, query)
            if found:
                hits = searcher.search(query, found, count=False).hits
                out.update(stored_docs(searcher, [addr for _, addr in hits]))
        return out

    def count(self) -> int:
        searcher = self.searcher()
        return count_matches(searcher, _live())

    def list_ids(self, query: ListQuery) -> tuple[list[str], int]:
        searcher, view = self.view()
        return paging.list_ids(searcher, query, Known(self.hints, self.counts, view))

    def list_documents(self, query: ListQuery) -> tuple[list[Listed], int]:
        searcher, view = self.view()
        return paging.list_documents(searcher, query, Known(self.hints, self.counts, view))

    def search(self, query: RankedQuery) -> tuple[list[Hit], int]:
        return ranked.search(self.searcher(), query)
