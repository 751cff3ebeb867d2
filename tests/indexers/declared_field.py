"""Declare one more customer field, then check both engines serve it with no edit in indexers/.

Run as ``python -m tests.indexers.declared_field OLD_INDEX_DIR`` (by ``test_index_schema.py``):
the declaration is changed before :mod:`indexers` is imported, as if the field had always been
declared, so this needs a process of its own. ``OLD_INDEX_DIR`` holds an embedded index built
with today's declaration, which must now be found incompatible (→ a full reindex).
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
from pathlib import Path

import app.entities as entities
from app.entities import declarations, traits

NICKNAME = traits.Field(
    "nickname",
    traits.Kind.TEXT,
    create=traits.ANYONE,
    update=traits.ANYONE,
    filter=traits.Filter(),
    q=6,
    index=traits.Index.FILTER | traits.Index.SORT,
)
entities.CUSTOMER = declarations.CUSTOMER = dataclasses.replace(
    declarations.CUSTOMER, members=(*declarations.CUSTOMER.members, NICKNAME)
)

from indexers.backends import elastic  # noqa: E402
from indexers.backends.base import IncompatibleIndex, Upsert  # noqa: E402
from indexers.backends.embedded import EmbeddedBackend  # noqa: E402
from indexers.documents import SearchDoc, to_search_doc  # noqa: E402
from indexers.query import ListQuery, TermFilter  # noqa: E402
from tests.indexers import es_model  # noqa: E402
from tests.indexers.conftest import customer  # noqa: E402

ROWS = [
    customer(1, first_name="Ann", nickname="Zorro"),
    customer(2, first_name="Bob", nickname="Ace"),
    customer(3, first_name="Cleo"),
    customer(4, first_name="Dan", nickname="zorrino"),
]
QUERIES = {
    "q": (ListQuery(q="zorr"), ["cus_000001", "cus_000004"]),
    "exact": (
        ListQuery(terms=(TermFilter("nickname", in_=frozenset({"Ace", None})),)),
        ["cus_000002", "cus_000003"],
    ),
    "sort": (
        ListQuery(order=(("nickname", "DESC"),)),
        ["cus_000004", "cus_000001", "cus_000002", "cus_000003"],
    ),
}


async def embedded(old_index: Path) -> None:
    with tempfile.TemporaryDirectory() as root:
        backend = EmbeddedBackend(root)
        try:
            docs = [to_search_doc(row, 1) for row in ROWS]
            await backend.apply([Upsert(doc) for doc in docs])
            await backend.refresh()
            for name, (query, expected) in QUERIES.items():
                assert await backend.list_ids(query) == (expected, len(expected)), name
            assert await backend.documents(["cus_000001"]) == {"cus_000001": docs[0]}
        finally:
            await backend.close()
    before = EmbeddedBackend(old_index)
    try:
        await before.count()
    except IncompatibleIndex:
        pass
    else:
        raise AssertionError("an index built without the field was not found incompatible")
    finally:
        await before.close()


def elasticsearch() -> None:
    sources = [elastic.es_document(to_search_doc(row, 1)) for row in ROWS]
    assert set(sources[0]) <= set(elastic.MAPPINGS["properties"])
    for name, (query, expected) in QUERIES.items():
        field, direction, _ = elastic.sort_plan(query.order)
        body = elastic.filter_query(query)
        assert body is not None
        found = [s for s in sources if es_model.matches(body, s)]
        found.sort(key=lambda s: s[field], reverse=direction == "desc")
        assert [s["id"] for s in found] == expected, name


def main() -> None:
    assert "nickname" in SearchDoc.__dataclass_fields__
    asyncio.run(embedded(Path(sys.argv[1])))
    elasticsearch()
    print("served")


if __name__ == "__main__":
    main()
