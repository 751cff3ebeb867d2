"""When the index lags, MongoDB answers a list only within its limits; beyond, 503.

The in-process indexer is stopped, so the index cannot catch up with a write and MongoDB
must answer: a group's page (read along ``group_refs``) up to ``page_limit`` customers, a
scan (no filter, ``q``, ``$like``) up to ``scan_limit``; beyond, ``unexpected_state`` with a
retry time, never the index's stale page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.errors import CustomerModuleError, Unavailable
from indexers.backends.embedded import EmbeddedBackend
from indexers.wiring import search_reader
from tests.indexers.sync_support import until
from tests.indexers.test_served import Served, served  # noqa: F401 (fixture)


@pytest.fixture
def lagging(served: Served) -> Any:  # noqa: F811
    """The service with an index that held 6 customers, then stopped following writes."""
    service = served.service
    group = service.create_customer_groups({"name": "Lagging"})
    made = service.create_customers([{"email": f"c{i}@example.com"} for i in range(6)])
    service.add_customer_to_group({"customer_id": made[0].id, "customer_group_id": group.id})
    assert service.run(served.indexer.wait_until_applied(timeout=30))
    served.stop.set()
    service.run(until(lambda: not served.indexer.active, timeout=20))
    service.create_customers({"email": "unseen@example.com"})  # the index never sees it
    return service, group.id


def test_a_lagging_index_never_answers_and_mongodb_answers_within_its_limits(
    lagging: Any,
) -> None:
    service, group = lagging
    service.aio.scan_limit, service.aio.page_limit = 3, 10
    assert service.list_and_count_customers({"groups": group})[1] == 1  # along group_refs
    for scan in ({}, {"q": "unseen"}):  # no filter: a scan on SecantusDB too
        with pytest.raises(CustomerModuleError) as refused:
            service.list_and_count_customers(scan)
        assert refused.value.type == "unexpected_state"
        assert "scan more than 3 " in refused.value.message
    service.aio.scan_limit = 10
    page, count = service.list_and_count_customers({}, {"take": 50})
    assert count == 7 and "unseen@example.com" in [c.email for c in page]  # not the index's 6
    service.aio.page_limit = 5
    with pytest.raises(Unavailable) as too_big:
        service.list_and_count_customers({"groups": group})
    assert "read a page of more than 5 " in str(too_big.value)
    assert too_big.value.retry_after > 0
    service.aio.page_limit = None  # no limit: MongoDB answers whatever it costs
    assert service.list_and_count_customers({"groups": group})[1] == 1


def test_an_index_that_cannot_tell_its_size_leaves_it_to_mongodbs_estimate(
    lagging: Any, tmp_path: Path
) -> None:
    """No generation yet (or an indexer that is off): MongoDB's estimate of the customers
    decides, so a small shop is answered and a large one is refused."""
    service, _ = lagging
    empty = EmbeddedBackend(tmp_path / "nothing-built-yet")  # as while the first is built
    service.aio.index = search_reader(service.aio.database, empty)
    try:
        assert service.run(service.aio.index.size()) is None  # it cannot tell
        service.aio.scan_limit = 10
        page, count = service.list_and_count_customers({})
        assert count == 7 and "unseen@example.com" in [c.email for c in page]
        service.aio.scan_limit = 3
        service.aio._size_estimate = None  # forget the remembered estimate
        with pytest.raises(Unavailable) as too_big:
            service.list_and_count_customers({})
        assert "scan more than 3 " in str(too_big.value)
    finally:
        service.run(empty.close())
