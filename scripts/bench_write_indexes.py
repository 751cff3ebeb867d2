"""Measure what each secondary index of ``customers`` costs a write on the embedded server.

    python scripts/bench_write_indexes.py --customers 20000 [--rounds 3]

The raw floor under the service's write path: the same stored documents the service writes
(``app.service.customers.new_customer_doc`` on deterministic fake data), written with bare
PyMongo into a fresh collection that carries 0, one, or all of ``app.models``' customer
indexes. Per configuration: inserts per second (``insert_many`` of 1,000, no transaction, as
the floor of a batch create), the p50/p95 of ``update_one`` by ``_id`` (a ``$set`` of one
name and ``$inc`` of ``version``) and the p50 of ``find_one`` by ``_id``: a read plus that
write is the floor of an update by id. Without indexes, also ``find_one_and_update`` (the same
write returning the document in one round trip), which SecantusDB answers with a collection
scan: its time grows with the collection. Every round runs every configuration once in turn,
so a busy machine slows them alike; medians over rounds are printed with the load average.

With ``--pages N``: what the MongoDB fallback of a customer list needs from ``deleted_at_id``
and ``group_refs``. N customers (every 10th in one of 20 groups) are seeded through the
service once into ``--data-dir`` (reused), then a plain page and a group page of 50 with their
counts (``list_and_count_customers`` with no search index: the fallback's own queries) are
timed with every index, and with each of the two dropped in turn (re-created after).

The embedded server runs as ``customers serve`` runs it (``--sync-on-commit``). Run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib.stats import percentile
from pymongo import AsyncMongoClient, IndexModel, ReturnDocument
from seed_data import fake_customers

from app.embedded import EmbeddedServer
from app.entities.values import utcnow
from app.models import Customer
from app.service import CustomerModuleService
from app.service.customers import new_customer_doc
from app.service.inputs import CreateCustomer

BATCH = 1_000
FIND_AND_MODIFY_SAMPLES = 20  # a collection scan each on SecantusDB: a few are enough


def customer_indexes() -> list[IndexModel]:
    """The secondary indexes ``app.models`` declares on ``customers``."""
    return list(Customer.Settings.indexes)


def configurations(only: list[str] | None) -> dict[str, list[IndexModel]]:
    """No index, each index alone, and all of them."""
    indexes = customer_indexes()
    configs: dict[str, list[IndexModel]] = {"none": []}
    for index in indexes:
        name = index.document["name"]
        if only is None or name in only:
            configs[name] = [index]
    configs["all"] = indexes
    return configs


def stored_docs(count: int) -> list[dict[str, Any]]:
    """``count`` customers as the service stores them (built once, copied per run)."""
    now = utcnow()
    return [new_customer_doc(CreateCustomer(**c), now) for c in fake_customers(count)]


def percentile_ms(samples: list[float], q: float) -> float:
    """The ``q`` quantile of ``samples`` (seconds), in milliseconds."""
    return round(percentile(samples, q) * 1000, 3)


async def one_run(
    client: AsyncMongoClient[Any], name: str, indexes: list[IndexModel], docs: list[Any], n: int
) -> dict[str, float]:
    """Insert ``docs`` into a fresh collection with ``indexes``, then time ``n`` updates."""
    database = client["bench_write_indexes"]
    collection = database[f"c_{name}"]
    await collection.drop()
    if indexes:
        await collection.create_indexes(indexes)
    fresh = [dict(d) for d in docs]
    start = time.perf_counter()
    for i in range(0, len(fresh), BATCH):
        await collection.insert_many(fresh[i : i + BATCH], ordered=True)
    insert_s = time.perf_counter() - start
    rng = random.Random(11)
    picks = [rng.choice(fresh)["_id"] for _ in range(n)]
    reads, updates = [], []
    for i, customer_id in enumerate(picks):
        t0 = time.perf_counter()
        await collection.find_one({"_id": customer_id})
        t1 = time.perf_counter()
        await collection.update_one(
            {"_id": customer_id}, {"$set": {"first_name": f"U{i}"}, "$inc": {"version": 1}}
        )
        reads.append(t1 - t0)
        updates.append(time.perf_counter() - t1)
    returning = []
    for i, customer_id in enumerate(picks[: FIND_AND_MODIFY_SAMPLES if not indexes else 0]):
        t0 = time.perf_counter()
        await collection.find_one_and_update(
            {"_id": customer_id},
            {"$set": {"last_name": f"R{i}"}, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )
        returning.append(time.perf_counter() - t0)
    await collection.drop()
    return {
        "insert_per_s": round(len(fresh) / insert_s),
        "update_one_p50_ms": percentile_ms(updates, 0.5),
        "update_one_p95_ms": percentile_ms(updates, 0.95),
        "find_one_p50_ms": percentile_ms(reads, 0.5),
        **({"find_one_and_update_p50_ms": percentile_ms(returning, 0.5)} if returning else {}),
    }


async def bench(uri: str, count: int, rounds: int, samples: int, only: list[str] | None) -> Any:
    docs = stored_docs(count)
    configs = configurations(only)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
    loads = []
    async with AsyncMongoClient[Any](uri) as client:
        for _ in range(rounds):
            for name, indexes in configs.items():
                runs[name].append(await one_run(client, name, indexes, docs, samples))
                print(name, runs[name][-1], os.getloadavg()[0], file=sys.stderr, flush=True)
                loads.append(os.getloadavg()[0])
    result: dict[str, Any] = {}
    for name, measured in runs.items():
        result[name] = {key: statistics.median(r[key] for r in measured) for key in measured[0]}
    base = result["none"]["insert_per_s"]
    for figures in result.values():
        figures["insert_vs_none"] = round(figures["insert_per_s"] / base, 3)
    return {
        "customers": count,
        "rounds": rounds,
        "configs": result,
        "load_average_1m": {"min": min(loads), "max": max(loads)},
    }


PAGE_INDEXES = ("deleted_at_id", "group_refs")
"""The indexes the MongoDB fallback of a list page may need."""


async def seed_pages(service: CustomerModuleService, count: int) -> list[str]:
    """``count`` customers, every 10th in one of 20 groups (once: reused when present); the
    group ids."""
    groups = await service.list_customer_groups({}, {"take": 20})
    if await service.store.customers.estimated_document_count() >= count and groups:
        return [g.id for g in groups]
    await service.store.customers.delete_many({})
    await service.store.groups.delete_many({})
    made = await service.create_customer_groups([{"name": f"group {i}"} for i in range(20)])
    fresh = fake_customers(count)
    for start in range(0, count, BATCH):
        batch = [next(fresh) for _ in range(min(BATCH, count - start))]
        created = await service.create_customers(batch)
        pairs = [
            {"customer_id": c.id, "customer_group_id": made[(start + i) % 20].id}
            for i, c in enumerate(created)
            if i % 10 == 0
        ]
        await service.add_customer_to_group(pairs)
    return [g.id for g in made]


async def time_pages(service: CustomerModuleService, groups: list[str], n: int) -> Any:
    """p50 of a plain page and of a group page (50 with the count), MongoDB answering."""
    plain, grouped = [], []
    for i in range(n):
        t0 = time.perf_counter()
        await service.list_and_count_customers({}, {"take": 50, "skip": 50 * i})
        t1 = time.perf_counter()
        await service.list_and_count_customers({"groups": groups[i % 20]}, {"take": 50})
        plain.append(t1 - t0)
        grouped.append(time.perf_counter() - t1)
    return {
        "plain_page_p50_ms": percentile_ms(plain, 0.5),
        "group_page_p50_ms": percentile_ms(grouped, 0.5),
    }


async def bench_pages(uri: str, count: int, rounds: int, samples: int) -> Any:
    # no budget: the point is how long the fallback takes
    service = await CustomerModuleService.connect(
        uri, database="bench_pages", scan_limit=10**9, search_budget=3600.0
    )
    groups = await seed_pages(service, count)
    declared = {i.document["name"]: i for i in customer_indexes()}
    runs: dict[str, list[Any]] = {"all": [], **{f"without_{n}": [] for n in PAGE_INDEXES}}
    loads = []
    for _ in range(rounds):
        runs["all"].append(await time_pages(service, groups, samples))
        for name in PAGE_INDEXES:
            await service.store.customers.drop_index(name)
            try:
                runs[f"without_{name}"].append(await time_pages(service, groups, samples))
            finally:
                await service.store.customers.create_indexes([declared[name]])
        loads.append(os.getloadavg()[0])
    await service.close()
    medians = {
        variant: {key: statistics.median(r[key] for r in measured) for key in measured[0]}
        for variant, measured in runs.items()
    }
    return {"customers": count, "rounds": rounds, "pages": medians,
            "load_average_1m": {"min": min(loads), "max": max(loads)}}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--only", nargs="*", help="index names to measure alone")
    parser.add_argument("--pages", type=int, help="time fallback list pages at this size")
    parser.add_argument("--data-dir", default="/tmp/writes-pages", help="--pages' server data")
    args = parser.parse_args(argv)
    if args.pages:
        with EmbeddedServer(args.data_dir, sync_on_commit=True) as server:
            pages = bench_pages(server.uri, args.pages, args.rounds, args.samples)
            print(json.dumps(asyncio.run(pages), indent=2))
        return 0
    uri = os.environ.get("MONGODB_URI")
    run = (args.customers, args.rounds, args.samples, args.only)
    if uri:
        print(json.dumps(asyncio.run(bench(uri, *run)), indent=2))
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="writes-index-bench-") as data_dir,
        EmbeddedServer(data_dir, sync_on_commit=True) as server,
    ):
        result = asyncio.run(bench(server.uri, *run))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
