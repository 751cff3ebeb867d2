"""Bounded searches in the service: ``q`` limits, deep offsets, ``maxTimeMS`` → 503 (MongoDB path).

The search index is not attached here: these are the MongoDB paths (the index-served ones are in
``tests/indexers/test_bounded_search.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from app.errors import CustomerModuleError
from app.limits import MAX_Q_CHARS, MAX_Q_WORDS
from app.service import CustomerModuleService
from tests.indexers.sync_support import dedicated_server

TOO_LONG = "a" * (MAX_Q_CHARS + 1)
TOO_MANY = " ".join(["ab"] * (MAX_Q_WORDS + 1))


def error_of(call: Any, *args: Any) -> CustomerModuleError:
    with pytest.raises(CustomerModuleError) as info:
        call(*args)
    return info.value


@pytest.fixture
def data(service: Any) -> dict[str, Any]:
    customers = service.create_customers(
        [
            {"email": f"user{i}@example.com", "first_name": f"Ann{i}", "addresses": [{}, {}]}
            for i in range(5)
        ]
    )
    group = service.create_customer_groups({"name": "VIP"})
    service.add_customer_to_group(
        [{"customer_id": c.id, "customer_group_id": group.id} for c in customers]
    )
    return {"customers": customers, "group": group}


@pytest.mark.parametrize("q", [TOO_LONG, TOO_MANY])
def test_every_q_over_the_limits_is_invalid_data(service: Any, data: Any, q: str) -> None:
    calls = [
        (service.list_and_count_customers, {"q": q}),
        (service.list_customers, {"$or": [{"q": q}, {"email": "x"}]}),
        (service.list_and_count_customer_addresses, {"q": q}),
        (service.list_and_count_customer_groups, {"q": q}),
    ]
    for call, filters in calls:
        err = error_of(call, filters)
        assert err.type == "invalid_data" and "'q'" in err.message, (call, err)
    err = error_of(service.search_customers, q)
    assert err.type == "invalid_data" and "'q'" in err.message


def test_the_embedded_server_is_never_asked_for_a_big_scan(service: Any) -> None:
    from app.service.admission import SECANTUSDB_SCAN_LIMIT

    assert service.aio.scan_limit == SECANTUSDB_SCAN_LIMIT  # detected from buildInfo


def test_q_at_the_limits_is_served(service: Any, data: Any) -> None:
    assert service.list_and_count_customers({"q": "a" * MAX_Q_CHARS}) == ([], 0)
    words = " ".join(["ann"] * MAX_Q_WORDS)
    assert service.list_and_count_customers({"q": words})[1] == 5
    assert service.search_customers(words).count == 5


def test_offsets_beyond_the_matches_are_empty_pages_with_the_count(service: Any, data: Any) -> None:
    deep = {"skip": 2**31 - 1, "take": 50}
    assert service.list_and_count_customers({}, deep) == ([], 5)
    assert service.list_and_count_customers({"q": "ann"}, deep) == ([], 5)
    assert service.list_and_count_customer_addresses({}, deep) == ([], 10)
    assert service.list_and_count_customer_groups({}, deep) == ([], 1)
    assert service.list_and_count_customer_group_customers({}, deep) == ([], 5)
    inside, count = service.list_and_count_customers({}, {"skip": 4, "take": 50})
    assert [c.id for c in inside] == [data["customers"][4].id] and count == 5


@pytest.fixture(scope="module")
def test_commands_uri() -> Iterator[str]:
    """A server of its own with ``configureFailPoint`` (its failpoints are server-wide)."""
    with dedicated_server("--enable-test-commands") as uri:
        yield uri


def test_mongodb_lists_run_under_max_time_ms_and_answer_503_naming_the_budget(
    test_commands_uri: str,
) -> None:
    async def body() -> None:
        service = await CustomerModuleService.connect(test_commands_uri, "limits")
        made = await service.create_customers(
            [{"email": f"u{i}@x.com", "first_name": "Ann", "addresses": [{}]} for i in range(3)]
        )
        await service.create_customer_groups({"name": "VIP"})
        admin = service.store.client.admin
        # every operation that carries maxTimeMS now fails as if it ran out of time
        await admin.command("configureFailPoint", "maxTimeAlwaysTimeOut", mode="alwaysOn")
        try:
            calls = [
                lambda: service.list_and_count_customers({"q": "ann"}),
                lambda: service.list_and_count_customers({}),
                lambda: service.list_and_count_customer_addresses({"q": "x"}),
                lambda: service.list_and_count_customer_addresses({}),
                lambda: service.list_and_count_customer_groups({}),
                lambda: service.list_and_count_customer_group_customers({}),
                lambda: service.search_customers("ann"),  # its MongoDB fallback
            ]
            for call in calls:
                with pytest.raises(CustomerModuleError) as info:
                    await call()
                err = info.value
                assert err.type == "unexpected_state" and "2 s budget" in err.message, err
            # reads that are not lists are not limited
            assert (await service.retrieve_customer(made[0].id)).id == made[0].id
        finally:
            await admin.command("configureFailPoint", "maxTimeAlwaysTimeOut", mode="off")
            await service.close()

    asyncio.run(body())


def test_a_q_of_punctuation_is_searched_or_refused_never_a_database_error(
    service: Any, data: Any
) -> None:
    # the embedded server refuses patterns over 1,000 characters: runs are counted, not spelled
    assert service.list_and_count_customers({"q": "." * MAX_Q_CHARS}) == ([], 0)
    err = error_of(service.list_and_count_customers, {"q": ".(" * (MAX_Q_CHARS // 2)})
    assert err.type == "invalid_data" and "'q'" in err.message
