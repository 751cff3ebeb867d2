"""Typed reads of tantivy's search results, where its type stub (``tantivy.pyi``) falls short.

The stub omits ``SearchResult.count`` (set when a search runs with ``count=True``) and types a
stored field as ``Any | None``. These two functions are the only places that say so, and
``tests/indexers/test_backend_contract.py`` exercises both on a real index.
"""

from __future__ import annotations

import tantivy

from indexers.backends.base import Listed


def hit_count(result: tantivy.SearchResult) -> int:
    """How many documents matched a search run with ``count=True``."""
    count = result.count  # type: ignore[attr-defined]  # present at runtime, missing in tantivy.pyi
    if count is None:  # only when the search ran with count=False: a caller's bug
        raise ValueError("search ran without count=True")
    return int(count)


def count_matches(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    """How many documents ``query`` matches (a search for the count alone)."""
    return hit_count(searcher.search(query, 1, count=True))


def stored_id(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> str:
    """The customer id stored with the document at ``address`` (every document has one)."""
    return str(searcher.doc(address).get_first("id"))


def stored_listed(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> Listed:
    """The id and the response document stored with the document at ``address`` (one read
    of its stored fields)."""
    doc = searcher.doc(address)
    document = doc.get_first("listed")
    return Listed(str(doc.get_first("id")), document if isinstance(document, bytes) else None)


def fast_ints(
    searcher: tantivy.Searcher, field: str, addresses: list[tantivy.DocAddress]
) -> list[int]:
    """The integer fast field ``field`` of each document (``version``, ``state``: every
    document has them, so a missing one is a broken index, not a value)."""
    values = searcher.fast_field_values(field, addresses)
    if any(value is None for value in values):
        raise ValueError(f"a document has no {field!r} fast field")
    return [int(value) for value in values if value is not None]


def documents_of(
    searcher: tantivy.Searcher, query: tantivy.Query, limit: int
) -> list[tuple[tantivy.DocAddress, str, int, int]]:
    """(address, id, version, state) of up to ``limit`` matches (ids read from the doc store)."""
    if limit <= 0:
        return []
    addresses = [address for _, address in searcher.search(query, limit, count=False).hits]
    versions = fast_ints(searcher, "version", addresses)
    states = fast_ints(searcher, "state", addresses)
    return [
        (address, stored_id(searcher, address), version, state)
        for address, version, state in zip(addresses, versions, states, strict=True)
    ]


Newest = dict[str, tuple[tantivy.DocAddress, int, int]]
"""id -> (address, version, state) of each customer's newest document."""


def newest_documents(searcher: tantivy.Searcher) -> Newest:
    """Each customer's newest document, tombstones included (an index holds one per customer;
    an older copy beside it is what tantivy's lost first delete left, see ``generation``)."""
    newest: Newest = {}
    everything = tantivy.Query.all_query()
    for address, id, version, state in documents_of(searcher, everything, searcher.num_docs):
        held = newest.get(id)
        if held is None or version > held[1]:
            newest[id] = (address, version, state)
    return newest
