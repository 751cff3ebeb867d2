"""Benchmark the service API on the embedded server (or MONGODB_URI); prints one JSON object.

    python scripts/bench_service.py --customers 100000

Seeds N customers through ``create_customers`` in batches of 1,000 (deterministic fake data,
1-2 addresses each), then times single calls: ``retrieve_customer`` with addresses and groups,
``update_customers`` by id, ``add_customer_to_group``, and a group-filtered list page.
The embedded server runs as ``customers serve`` runs it: ``--sync-on-commit``, in a fresh data
directory. Run by hand, not in CI; the machine is shared, so compare figures of one run.
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_data import customer_batches

from app.embedded import EmbeddedServer
from app.service import CustomerModuleService

MEDUSA_POSTGRES_100K = {
    "create_per_s": 4041,
    "retrieve_p50_ms": 1.96,
    "update_p50_ms": 1.62,
    "add_to_group_p50_ms": 0.93,
}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
    }


async def timed(times: int, call: Callable[[int], Awaitable[Any]]) -> dict[str, float]:
    samples = []
    for i in range(times):
        start = time.perf_counter()
        await call(i)
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


async def bench(uri: str, customers: int, samples: int) -> dict[str, Any]:
    service = await CustomerModuleService.connect(uri, database="bench_service")
    await service.store.client.drop_database("bench_service")
    service = await CustomerModuleService.connect(uri, database="bench_service")
    rng = random.Random(7)
    groups = await service.create_customer_groups([{"name": f"group {i}"} for i in range(20)])
    ids: list[str] = []
    start = time.perf_counter()
    for batch in customer_batches(customers):
        ids.extend(c.id for c in await service.create_customers(batch))
    create_s = time.perf_counter() - start
    # Memberships so group filters and the groups relation have something to find.
    for i in range(0, len(ids), 10):
        await service.add_customer_to_group(
            {"customer_id": ids[i], "customer_group_id": groups[i % 20].id}
        )
    # Let the bulk load's checkpoint settle: latencies measured in its wake are 5-10x higher and
    # describe the import, not the steady state (the import's figure is create_per_s).
    await service.store.client.admin.command("fsync")
    await asyncio.sleep(5)
    relations = {"relations": ["addresses", "groups"]}
    picks = [rng.choice(ids) for _ in range(samples)]
    result = {
        "customers": customers,
        "create_per_s": round(customers / create_s),
        "retrieve_with_relations": await timed(
            samples, lambda i: service.retrieve_customer(picks[i], relations)
        ),
        "update_by_id": await timed(
            samples, lambda i: service.update_customers(picks[i], {"first_name": f"F{i}"})
        ),
        "add_customer_to_group": await timed(
            samples,
            lambda i: service.add_customer_to_group(
                {"customer_id": picks[i], "customer_group_id": groups[(i * 7 + 3) % 20].id}
            ),
        ),
        "list_page_by_group": await timed(
            min(samples, 200),
            lambda i: service.list_customers({"groups": groups[i % 20].id}, {"take": 50}),
        ),
        "medusa_postgres_at_100k": MEDUSA_POSTGRES_100K,
        "load_average_1m": os.getloadavg()[0],
    }
    await service.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=1_000)
    args = parser.parse_args(argv)
    uri = os.environ.get("MONGODB_URI")
    if uri:
        print(json.dumps(asyncio.run(bench(uri, args.customers, args.samples)), indent=2))
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="bench-service-") as data_dir,
        EmbeddedServer(data_dir, sync_on_commit=True) as server,
    ):
        result = asyncio.run(bench(server.uri, args.customers, args.samples))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
