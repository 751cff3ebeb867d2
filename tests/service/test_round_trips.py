"""How many commands each write sends to MongoDB: a regression here is a slower write path.

Every command the driver starts is one round trip to the server (PyMongo sends no pipelined
batches), so a ``CommandListener`` on the service's own client counts them. The expected
numbers are the floor on the embedded server: ``findAndModify`` is not used for single
updates because SecantusDB answers it with a collection scan (``scripts/bench_write_indexes.py``
measures it), so an update by id stays one read plus one compare-and-set write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from app.service import CustomerModuleService
from app.service.customers import CREATE_CHUNK
from tests.conftest import SyncService


class Commands(monitoring.CommandListener):
    """The names of the commands started since the last :meth:`reset`."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reset(self) -> None:
        self.names.clear()


@pytest.fixture
def counted(mongodb_uri: str, database_name: str) -> Iterator[tuple[SyncService, Commands]]:
    """A service whose client reports every command it sends."""
    commands = Commands()
    loop = asyncio.new_event_loop()

    async def connect() -> CustomerModuleService:
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_uri, event_listeners=[commands])
        return await CustomerModuleService.connect(database=database_name, client=client)

    aio = loop.run_until_complete(connect())
    try:
        yield SyncService(loop, aio), commands
    finally:
        loop.run_until_complete(aio.store.client.close())
        loop.close()


def sent(commands: Commands, call: Any, *args: Any, **kwargs: Any) -> list[str]:
    """The commands ``call(*args, **kwargs)`` sends."""
    commands.reset()
    call(*args, **kwargs)
    return list(commands.names)


def customers(service: SyncService, n: int) -> list[str]:
    made = service.create_customers([{"email": f"c{i}@example.com"} for i in range(n)])
    return [c.id for c in made]


def test_create_customers(counted: tuple[SyncService, Commands]) -> None:
    service, commands = counted
    one = [{"email": "a@example.com", "addresses": [{"city": "Lyon"}]}]
    assert sent(commands, service.create_customers, one) == ["insert"]
    batch = [{"email": f"b{i}@example.com"} for i in range(50)]
    assert sent(commands, service.create_customers, batch) == ["insert", "commitTransaction"]
    large = [{"email": f"c{i}@example.com"} for i in range(2 * CREATE_CHUNK + 1)]
    names = sent(commands, service.create_customers, large)
    assert names == ["insert", "insert", "insert", "commitTransaction"]  # one per chunk


def test_update_customers_by_id(counted: tuple[SyncService, Commands]) -> None:
    service, commands = counted
    (customer_id,) = customers(service, 1)
    names = sent(commands, service.update_customers, customer_id, {"first_name": "Ada"})
    assert names == ["find", "update"]


def test_update_customers_by_ids_and_selector(counted: tuple[SyncService, Commands]) -> None:
    service, commands = counted
    ids = customers(service, 5)
    names = sent(commands, service.update_customers, ids, {"first_name": "Ada"})
    assert names == ["find", "update", "commitTransaction"]  # one bulk write: one "update"
    selector = {"email": [f"c{i}@example.com" for i in range(5)]}
    names = sent(commands, service.update_customers, selector, {"last_name": "Lovelace"})
    assert names == ["find", "find", "update", "commitTransaction"]


def test_add_customer_to_group(counted: tuple[SyncService, Commands]) -> None:
    service, commands = counted
    ids = customers(service, 30)
    groups = service.create_customer_groups([{"name": "A"}, {"name": "B"}])
    pair = {"customer_id": ids[0], "customer_group_id": groups[0].id}
    assert sent(commands, service.add_customer_to_group, pair) == ["find", "update"]
    assert sent(commands, service.add_customer_to_group, pair) == ["find", "update", "find"]
    pairs = [{"customer_id": c, "customer_group_id": g.id} for c in ids for g in groups]
    # the groups, the customers, one bulk write of one push per customer
    assert sent(commands, service.add_customer_to_group, pairs) == ["find", "find", "update"]
    assert sent(commands, service.add_customer_to_group, pairs) == ["find", "find"]


def test_remove_customer_from_group(counted: tuple[SyncService, Commands]) -> None:
    service, commands = counted
    ids = customers(service, 10)
    groups = service.create_customer_groups([{"name": "A"}, {"name": "B"}])
    pairs = [{"customer_id": c, "customer_group_id": g.id} for c in ids for g in groups]
    service.add_customer_to_group(pairs)
    # one bulk write of one pull per pair (it was one update per pair)
    assert sent(commands, service.remove_customer_from_group, pairs[:15]) == ["update"]
    left = service.list_customer_group_customers({"customer_id": ids})
    assert sorted((m.customer_id, m.customer_group_id) for m in left) == sorted(
        (p["customer_id"], p["customer_group_id"]) for p in pairs[15:]
    )
    assert sent(commands, service.remove_customer_from_group, pairs[:15]) == ["update"]  # no-op
    assert sent(commands, service.remove_customer_from_group, []) == []


def test_create_customer_addresses(counted: tuple[SyncService, Commands]) -> None:
    service, commands = counted
    ids = customers(service, 5)
    one = {"customer_id": ids[0], "city": "Lyon", "is_default_shipping": True}
    assert sent(commands, service.create_customer_addresses, one) == ["find", "update"]
    many = [{"customer_id": c, "city": "Paris"} for c in ids for _ in range(2)]
    names = sent(commands, service.create_customer_addresses, many)
    assert names == ["find", "update", "commitTransaction"]
