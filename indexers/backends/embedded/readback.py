"""A generation's documents read back from the index itself, whatever schema it was built with.

This code cannot search a generation built with another :data:`~.schema.FINGERPRINT` (other
derived keys or tokens), but when the generation records the same documents fingerprint
(:data:`~.schema.DOCUMENTS`: the same layout, response document and read-back fields), its
stored and fast fields give back exactly the search documents this code would write. A schema
change then rebuilds the index from itself, without a MongoDB read: at 1,000,000 customers the
embedded server cannot answer the full copy a reindex from MongoDB needs.

Blocking calls (the backend runs them in worker threads).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import tantivy

from indexers.backends.embedded.documents import stored_docs
from indexers.backends.embedded.results import newest_documents
from indexers.backends.embedded.schema import DOCUMENTS, recorded_documents
from indexers.backends.plan import TOMBSTONE
from indexers.documents import SearchDoc

__all__ = ["READ_BATCH", "read_back"]

READ_BATCH = 5_000  # documents read back (and bulk-loaded) at a time


def read_back(path: Path) -> tuple[int, Iterator[list[SearchDoc]]] | None:
    """The number of live documents of the generation at ``path`` and an iterator of them in
    batches; None when it records other documents (or none: built before they were recorded,
    by a version that did not know its own).

    Only each customer's newest document counts (an older copy beside it is what tantivy's
    lost first delete left in generations written before the workaround), and tombstones
    are not read back: the rebuilt generation is fed the change stream from the checkpoint
    this one was written up to, and no change older than that comes again.
    """
    if recorded_documents(path) != DOCUMENTS:
        return None
    searcher = tantivy.Index.open(str(path)).searcher()  # with the schema it was built with
    newest = newest_documents(searcher).values()  # an older copy a lost delete left: not read
    live = [address for address, _, state in newest if state != TOMBSTONE]
    return len(live), _batches(searcher, live)


def _batches(
    searcher: tantivy.Searcher, addresses: list[tantivy.DocAddress]
) -> Iterator[list[SearchDoc]]:
    for start in range(0, len(addresses), READ_BATCH):
        yield list(stored_docs(searcher, addresses[start : start + READ_BATCH]).values())
