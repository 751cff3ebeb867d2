"""The service with the search index attached: lists and ranked lookups served by the index.

The in-process sync indexer runs as a task of the service's event loop, as in ``customers
serve``; each result is compared with the MongoDB baseline (the same service, index detached).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from indexers.backends.embedded import EmbeddedBackend
from indexers.sync import Indexer
from indexers.wiring import search_reader
from tests.indexers.sync_support import until


class Served:
    """The service, its backend and a counter of index-served list pages."""

    def __init__(
        self, service: Any, backend: EmbeddedBackend, indexer: Indexer, stop: asyncio.Event
    ) -> None:
        self.service = service
        self.backend = backend
        self.indexer = indexer
        self.stop = stop  # set it to stop the indexer (the index then lags)
        self.queries: list[Any] = []  # what each index-served list page asked the index
        original = backend.list_documents

        async def counted(query: Any) -> Any:
            self.queries.append(query)
            return await original(query)

        backend.list_documents = counted  # type: ignore[method-assign]

    @property
    def pages(self) -> int:
        """How many list pages the index served."""
        return len(self.queries)

    def baseline(self, method: str, *args: Any) -> Any:
        """Call ``method`` with the index detached (MongoDB answers)."""
        index, self.service.aio.index = self.service.aio.index, None
        try:
            return getattr(self.service, method)(*args)
        finally:
            self.service.aio.index = index


@pytest.fixture
def served(service: Any, tmp_path: Path) -> Iterator[Served]:
    backend = EmbeddedBackend(tmp_path / "search")
    indexer = Indexer(service.aio.database, backend, flush_interval=0.05)
    stop = asyncio.Event()
    task = service.loop.create_task(indexer.run(stop))
    service.run(until(lambda: indexer.ready, timeout=20))
    service.aio.index = search_reader(service.aio.database, backend, indexer=indexer)
    try:
        yield Served(service, backend, indexer, stop)
    finally:
        service.aio.index = None
        stop.set()
        service.run(task)
        service.run(backend.close())


def ids(items: list[Any]) -> list[str]:
    return [item.id for item in items]


@pytest.fixture
def people(served: Served) -> list[Any]:
    s = served.service
    made = s.create_customers(
        [
            {"email": "john.doe@acme.io", "first_name": "John", "last_name": "Doe", "phone": "+1 (555) 123-4567"},
            {"email": "jane@doe.org", "first_name": "Jane", "last_name": "Doe", "company_name": "Acme Inc"},
            {"email": "j.smith@mail.net", "first_name": "Jon", "last_name": "Smith", "has_account": True},
            {"email": "eldon@tyrell.com", "first_name": "Eldon", "last_name": "Tyrell", "phone": "555 987 0000"},
            {"first_name": "Nameless"},
        ]
    )  # fmt: skip
    vip = s.create_customer_groups({"name": "VIP"})
    s.add_customer_to_group(
        [{"customer_id": made[i].id, "customer_group_id": vip.id} for i in (0, 3)]
    )
    s.soft_delete_customers([made[4].id])
    # Wait for the condition, not for the read's own 1 s freshness window: on a busy machine
    # that window can pass, and a list answered by MongoDB would not show the index at work.
    assert s.run(served.indexer.wait_until_applied(timeout=30))
    return made


@pytest.mark.parametrize(
    ("filters", "config"),
    [
        ({}, {}),
        ({"q": "doe"}, {}),
        ({"q": "john doe"}, {}),
        ({"q": "555"}, {}),
        ({"q": "4567"}, {}),
        ({"q": "acme"}, {"order": {"email": "DESC"}}),
        ({"has_account": True}, {}),
        ({"last_name": ["Doe", "Tyrell"]}, {"skip": 1, "take": 2}),
        ({"email": "JANE@doe.org"}, {}),
        ({}, {"with_deleted": True, "order": {"created_at": "DESC"}}),
        ({"q": "a"}, {"take": 2, "skip": 1}),
    ],
)
def test_index_served_lists_equal_the_mongodb_baseline(served, people, filters, config):
    before = served.pages
    got = served.service.list_and_count_customers(filters, config)
    assert served.pages > before, "the index did not serve this list"
    expected = served.baseline("list_and_count_customers", filters, config)
    assert (ids(got[0]), got[1]) == (ids(expected[0]), expected[1])


def test_group_and_date_filters_are_index_served(served, people):
    vip = served.service.list_customer_groups({"name": "VIP"})[0]
    since = people[0].created_at - timedelta(seconds=1)
    for filters in (
        {"groups": vip.id},
        {"groups": [vip.id], "q": "tyrell"},
        {"created_at": {"$gte": since}},
    ):
        before = served.pages
        got = served.service.list_and_count_customers(filters, {"relations": ["groups"]})
        assert served.pages > before  # (twice when a write landed during the read)
        expected = served.baseline("list_and_count_customers", filters, {"relations": ["groups"]})
        assert [c.model_dump() for c in got[0]] == [c.model_dump() for c in expected[0]]
        assert got[1] == expected[1]


def test_a_group_page_read_as_if_its_groups_were_live_is_read_again_when_one_is_not(served, people):
    """``groups[]=…`` pages are read from the index while MongoDB checks that the groups are
    live; a soft-deleted group's members must then not be listed."""
    s = served.service
    vip = s.list_customer_groups({"name": "VIP"})[0]
    gone = s.create_customer_groups({"name": "Gone"})
    s.add_customer_to_group({"customer_id": people[1].id, "customer_group_id": gone.id})
    both = {"groups": [gone.id, vip.id]}
    assert ids(s.list_customers(both)) == sorted(ids([people[0], people[1], people[3]]))
    s.soft_delete_customer_groups([gone.id])
    before = len(served.queries)
    assert s.list_and_count_customers(both)[1] == 2
    assert ids(s.list_customers(both)) == sorted(ids([people[0], people[3]]))
    asked = served.queries[before:]
    assert any(gone.id in repr(q) for q in asked), "the first read assumed the group live"
    assert gone.id not in repr(asked[-1])
    assert s.list_and_count_customers({"groups": gone.id}) == ([], 0)
    assert s.list_and_count_customers({"groups": {"name": "Gone"}}) == ([], 0)
    expected = served.baseline("list_and_count_customers", both, {})
    got = s.list_and_count_customers(both, {})
    assert (ids(got[0]), got[1]) == (ids(expected[0]), expected[1])


def test_invalid_filters_are_still_invalid_data(served, people):
    from app.errors import CustomerModuleError

    with pytest.raises(CustomerModuleError) as info:
        served.service.list_customers({"email": {"$where": "1"}})
    assert info.value.type == "invalid_data"


def test_reads_see_the_writes_that_returned_before_them(served, people):
    s = served.service
    for i in range(5):
        made = s.create_customers({"email": f"fresh{i}@x.com", "last_name": f"Zebulon{i}"})
        assert ids(s.list_customers({"q": f"zebulon{i}"})) == [made.id]
        s.update_customers(made.id, {"last_name": f"Quixote{i}"})
        assert ids(s.list_customers({"q": f"quixote{i}"})) == [made.id]
        assert s.list_customers({"q": f"zebulon{i}"}) == []
        s.soft_delete_customers([made.id])
        assert s.list_customers({"q": f"quixote{i}"}) == []
        s.restore_customers([made.id])
        s.delete_customers(made.id)
        assert s.list_and_count_customers({"q": f"quixote{i}"}) == ([], 0)


def test_ranked_lookup(served, people):
    s = served.service
    typo = s.search_customers("Jhon Doe")
    assert typo.hits[0].customer.id == people[0].id and typo.hits[0].score is not None
    reversed_name = s.search_customers("doe jane")
    assert reversed_name.hits[0].customer.id == people[1].id
    last4 = s.search_customers("0000")
    assert [h.customer.id for h in last4.hits] == [people[3].id]
    domain = s.search_customers("tyrell.com")
    assert domain.hits[0].customer.id == people[3].id and domain.hits[0].highlights
    assert s.search_customers("doe", {"has_account": True}).count == 0


def test_ranked_lookup_without_an_index_answers_from_mongodb(served, people):
    result = served.baseline("search_customers", "doe")
    assert {h.customer.id for h in result.hits} == {people[0].id, people[1].id}
    assert all(h.score is None for h in result.hits) and result.count == 2


def test_what_the_index_cannot_answer_is_scanned_only_below_the_scan_limit(served, people):
    from app.errors import CustomerModuleError

    s = served.service
    assert s.list_and_count_customers({"q": "doe"})[1] == 2  # served: the index caught up
    unservable = {"email": {"$like": "%@%"}}  # $like: MongoDB answers it, by a scan
    assert s.list_and_count_customers(unservable)[1] == 4
    s.aio.scan_limit = 3  # the index holds 5 customers (one soft-deleted)
    try:
        with pytest.raises(CustomerModuleError) as info:
            s.list_and_count_customers(unservable)
        assert info.value.type == "unexpected_state" and "3 customers" in info.value.message
        assert s.list_and_count_customers({"q": "doe"})[1] == 2  # the index still answers
    finally:
        s.aio.scan_limit = None
