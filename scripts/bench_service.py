"""Benchmark the service API on the embedded server (or MONGODB_URI); prints one JSON object.

    python scripts/bench_service.py --customers 100000 [--indexer] [--tree PATH ...]

Seeds N customers through ``create_customers`` in batches of 1,000 (deterministic fake data,
1-2 addresses each), then times single calls: ``retrieve_customer`` with addresses and groups,
``update_customers`` by id and by 10 ids, ``add_customer_to_group`` of one pair and of 10,
``create_customer_addresses`` for one customer, and a group-filtered list page.
With ``--indexer``, a second database is seeded batch for batch in turn with the first while a
sync indexer (tantivy, as in ``serve``) runs in this process on it: ``create_per_s`` is then
measured without and ``create_per_s_with_indexer`` with the indexer, under the same load.
The embedded server runs as ``customers serve`` runs it: ``--sync-on-commit``, in a fresh data
directory. Each ``--tree`` is a checkout of this repository (``git worktree add --detach
/tmp/before main``) whose code this script measures in a process of its own; every round runs
each tree once in turn, and the medians per tree are printed with the ratio to the first
tree. Run by hand, not in CI; the machine is shared, so compare figures of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("BENCH_CODE_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))  # the tree whose code is measured (see --tree)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_data import customer_batches  # noqa: E402

from app.embedded import EmbeddedServer  # noqa: E402
from app.service import CustomerModuleService  # noqa: E402
from indexers.backends.embedded import EmbeddedBackend  # noqa: E402
from indexers.sync import Indexer  # noqa: E402

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


class IndexedTwin:
    """A second database with a sync indexer running on it in this process (as ``serve``)."""

    def __init__(self, uri: str, index_dir: Path) -> None:
        self.uri, self.index_dir = uri, index_dir

    async def __aenter__(self) -> CustomerModuleService:
        self.service = await CustomerModuleService.connect(self.uri, database="bench_indexed")
        await self.service.store.client.drop_database("bench_indexed")
        self.service = await CustomerModuleService.connect(self.uri, database="bench_indexed")
        self.backend = EmbeddedBackend(self.index_dir)
        self.indexer = Indexer(self.service.database, self.backend)
        await self.indexer.run_until_caught_up(reindex=True, timeout=120)
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.indexer.run(self.stop))
        return self.service

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await self.task
        await self.backend.close()
        await self.service.close()


async def seed(
    service: CustomerModuleService, customers: int, twin: CustomerModuleService | None
) -> tuple[list[str], dict[str, int]]:
    """Create the customers in batches of 1,000 (alternating with ``twin``, which gets the
    same batches); the ids and the creation rates."""
    ids: list[str] = []
    seconds = {"plain": 0.0, "indexed": 0.0}
    for batch in customer_batches(customers):
        start = time.perf_counter()
        ids.extend(c.id for c in await service.create_customers(batch))
        seconds["plain"] += time.perf_counter() - start
        if twin is not None:
            start = time.perf_counter()
            await twin.create_customers(batch)
            seconds["indexed"] += time.perf_counter() - start
    rates = {"create_per_s": round(customers / seconds["plain"])}
    if twin is not None:
        rates["create_per_s_with_indexer"] = round(customers / seconds["indexed"])
    return ids, rates


async def bench(uri: str, customers: int, samples: int, indexer: bool) -> dict[str, Any]:
    service = await CustomerModuleService.connect(uri, database="bench_service")
    await service.store.client.drop_database("bench_service")
    service = await CustomerModuleService.connect(uri, database="bench_service")
    rng = random.Random(7)
    groups = await service.create_customer_groups([{"name": f"group {i}"} for i in range(20)])
    if indexer:
        with tempfile.TemporaryDirectory(prefix="bench-service-index-") as index_dir:
            async with IndexedTwin(uri, Path(index_dir)) as twin:
                ids, rates = await seed(service, customers, twin)
    else:
        ids, rates = await seed(service, customers, None)
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
    tens = [rng.sample(ids, 10) for _ in range(samples)]
    result = {
        "customers": customers,
        **rates,
        "retrieve_with_relations": await timed(
            samples, lambda i: service.retrieve_customer(picks[i], relations)
        ),
        "update_by_id": await timed(
            samples, lambda i: service.update_customers(picks[i], {"first_name": f"F{i}"})
        ),
        "update_by_10_ids": await timed(
            min(samples, 300), lambda i: service.update_customers(tens[i], {"last_name": f"L{i}"})
        ),
        "add_customer_to_group": await timed(
            samples,
            lambda i: service.add_customer_to_group(
                {"customer_id": picks[i], "customer_group_id": groups[(i * 7 + 3) % 20].id}
            ),
        ),
        "add_10_customers_to_group": await timed(
            min(samples, 300),
            lambda i: service.add_customer_to_group(
                [
                    {"customer_id": c, "customer_group_id": groups[(i * 3 + 1) % 20].id}
                    for c in tens[i]
                ]
            ),
        ),
        "create_address": await timed(
            min(samples, 300),
            lambda i: service.create_customer_addresses({"customer_id": picks[i], "city": "Lyon"}),
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


def measure(customers: int, samples: int, indexer: bool) -> dict[str, Any]:
    """One run of this tree's code on its own embedded server (or MONGODB_URI)."""
    uri = os.environ.get("MONGODB_URI")
    if uri:
        return asyncio.run(bench(uri, customers, samples, indexer))
    with (
        tempfile.TemporaryDirectory(prefix="bench-service-") as data_dir,
        EmbeddedServer(data_dir, sync_on_commit=True) as server,
    ):
        return asyncio.run(bench(server.uri, customers, samples, indexer))


def figures(result: dict[str, Any]) -> dict[str, float]:
    """The comparable figures of one run: rates and p50s, flat."""
    flat: dict[str, float] = {}
    for key, value in result.items():
        if key.startswith("create_per_s"):
            flat[key] = value
        elif isinstance(value, dict) and "p50_ms" in value:
            flat[f"{key}_p50_ms"] = value["p50_ms"]
            flat[f"{key}_p99_ms"] = value["p99_ms"]
    flat["load_average_1m"] = result["load_average_1m"]
    return flat


def compare(trees: list[str], rounds: int, argv: list[str]) -> dict[str, Any]:
    """Run this script on each tree's code in turn, ``rounds`` times; medians per tree."""
    runs: dict[str, list[dict[str, float]]] = {tree: [] for tree in trees}
    for _ in range(rounds):
        for tree in trees:
            env = {**os.environ, "BENCH_CODE_ROOT": str(Path(tree).resolve())}
            out = subprocess.run(
                [sys.executable, __file__, *argv], env=env, check=True, capture_output=True
            )
            runs[tree].append(figures(json.loads(out.stdout)))
    medians = {
        tree: {key: statistics.median(r[key] for r in measured) for key in measured[0]}
        for tree, measured in runs.items()
    }
    base = medians[trees[0]]
    ratios = {
        tree: {k: round(v / base[k], 3) for k, v in m.items() if base.get(k)}
        for tree, m in medians.items()
    }
    return {"rounds": rounds, "medians": medians, "ratio_to_first_tree": ratios, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=1_000)
    parser.add_argument("--indexer", action="store_true", help="also create with an indexer")
    parser.add_argument("--tree", action="append", help="a checkout to measure (repeatable)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the trees")
    args = parser.parse_args(argv)
    if args.tree:
        worker = ["--customers", str(args.customers), "--samples", str(args.samples)]
        worker += ["--indexer"] if args.indexer else []
        print(json.dumps(compare(args.tree, args.rounds, worker), indent=2))
        return 0
    print(json.dumps(measure(args.customers, args.samples, args.indexer), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
