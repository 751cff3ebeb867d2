"""Benchmark merging customers through the service, against a baseline measured in the same run.

    python scripts/bench_merge.py --pairs 200 --addresses 3          # a throw-away SecantusDB
    MONGODB_URI=mongodb://… python scripts/bench_merge.py --pairs 200 # another server

For each of ``--pairs`` pairs of customers (each with ``--addresses`` addresses, one of them
equal across the pair so that it collapses, and one group membership), times one at a time:
the baseline ``update_customers`` of one customer (one compare-and-set write), the merge
preview, and the merge (one transaction: the reads, both writes, the identity links); then
the ``merged_into`` lookup every store request makes (on a live customer, on a merged one)
beside a plain ``retrieve_customer``. Prints
one JSON object: p50/p99 in ms and each median's ratio to the baseline's, with the load average
before and after (the machine is shared: the figures mean little without it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib.stats import percentile

from app.embedded import EmbeddedServer
from app.service import CustomerModuleService


def stats(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
    }


async def timed(calls: list[Callable[[], Awaitable[Any]]]) -> list[float]:
    out = []
    for call in calls:
        started = time.perf_counter()
        await call()
        out.append(time.perf_counter() - started)
    return out


async def seed(service: CustomerModuleService, pairs: int, addresses: int) -> list[tuple[str, str]]:
    group = await service.create_customer_groups({"name": f"bench-{uuid.uuid4().hex[:6]}"})
    made = []
    for i in range(pairs):
        shared = {"address_1": f"{i} Shared St", "city": "Paris", "postal_code": "75001"}
        docs = [
            {
                "email": f"{side}{i}-{uuid.uuid4().hex[:6]}@bench.example",
                "first_name": f"Name{side}{i}",
                "metadata": {"side": side, "n": i},
                "addresses": [shared]
                + [{**shared, "address_1": f"{i} {side} Rd {k}"} for k in range(addresses - 1)],
            }
            for side in ("a", "b")
        ]
        a, b = await service.create_customers(docs)
        await service.add_customer_to_group({"customer_id": b.id, "customer_group_id": group.id})
        made.append((a.id, b.id))
    return made


async def bench(uri: str, pairs: int, addresses: int) -> dict[str, Any]:
    service = await CustomerModuleService.connect(uri, f"bench_merge_{uuid.uuid4().hex[:6]}")
    try:
        made = await seed(service, pairs, addresses)
        update = service.update_customers
        baseline = await timed([partial(update, a, {"last_name": "Base"}) for a, _ in made])
        preview = await timed([partial(service.preview_customer_merge, a, [b]) for a, b in made])
        merge = await timed([partial(service.merge_customers, a, [b]) for a, b in made])
        resolve = service.resolve_merged_customer
        live = await timed([partial(resolve, a) for a, _ in made])
        merged = await timed([partial(resolve, b) for _, b in made])
        retrieve = await timed([partial(service.retrieve_customer, a) for a, _ in made])
        await service.database.client.drop_database(service.database.name)
    finally:
        await service.close()
    base = statistics.median(baseline)
    return {
        "pairs": pairs,
        "addresses_each": addresses,
        "baseline_update": stats(baseline),
        "preview": {
            **stats(preview),
            "ratio_to_baseline": round(statistics.median(preview) / base, 2),
        },
        "merge": {**stats(merge), "ratio_to_baseline": round(statistics.median(merge) / base, 2)},
        # what every store request now adds: following merged_into, beside a plain retrieve
        "retrieve": stats(retrieve),
        "resolve_live": stats(live),
        "resolve_merged": stats(merged),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--addresses", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()
    uri = os.environ.get("MONGODB_URI")
    if uri:
        result = asyncio.run(bench(uri, args.pairs, args.addresses))
    else:
        with EmbeddedServer.ephemeral() as server:
            result = asyncio.run(bench(server.uri, args.pairs, args.addresses))
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
