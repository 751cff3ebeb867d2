"""Benchmark what erasure costs: the indexer's tombstone screen on every batch, an erase, a purge.

    python scripts/bench_erasure.py [--receipts 100000] [--batches 40] [--batch-size 1000]

Against a throw-away SecantusDB (or ``MONGODB_URI``) and tantivy in a temporary directory:

1. **The screen on the sync loop's hot path**: batches of ``--batch-size`` upserts (fresh ids,
   none erased) applied through :class:`indexers.apply.IndexWriter`, alternately with the
   tombstone screen and without it (the baseline, measured in the same run, batch after
   batch), first with no receipt at all, then with ``--receipts`` receipts in ``erasures``.
   Prints medians, p90 and the ratio.
2. **The screen's read alone**: one ``$in`` on the receipts for a batch's ids.
3. **An erasure** (one customer with two addresses, no index attached): median and p90.
4. **A purge** of ``--purge`` soft-deleted customers: customers erased per second.

Every figure comes with the load average (this machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import indexers.apply as apply_module
from app.embedded import EmbeddedServer
from app.erasure_records import erased_among
from app.service import CustomerModuleService
from indexers.backends.base import Delete, Upsert
from indexers.backends.embedded import EmbeddedBackend
from indexers.documents import to_search_doc
from indexers.lease import Lease
from indexers.retry import Backoff
from indexers.state import IndexerState
from indexers.stats import IndexerStats
from tests.indexers.sync_support import raw_customer


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def stats_ms(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 3),
        "n": len(ordered),
    }


async def seed_receipts(database: Any, count: int) -> None:
    now = datetime.now(UTC)
    for start in range(0, count, 10_000):
        docs = [
            {"_id": f"cus_erased{n:08d}", "erased_at": now, "by": "bench"}
            for n in range(start, min(count, start + 10_000))
        ]
        await database["erasures"].insert_many(docs)


async def screen_on_apply(database: Any, batches: int, size: int) -> dict[str, Any]:
    """Alternate batches with and without the screen through the sync loop's writer."""
    with tempfile.TemporaryDirectory() as root:
        backend = EmbeddedBackend(Path(root) / "search")
        state = IndexerState(database, "bench")
        writer = apply_module.IndexWriter(
            backend, state, IndexerStats(), Lease(state, "bench", ttl=60), Backoff(0.1, 1)
        )
        real_screen = writer.tombstones.screen

        async def unscreened(ops: Any) -> Any:
            return ops

        timings: dict[str, list[float]] = {"screened": [], "baseline": []}
        stop = asyncio.Event()
        version = 1 << 40
        for b in range(batches * 2 + 2):
            kind = "screened" if b % 2 else "baseline"
            screen = real_screen if kind == "screened" else unscreened
            writer.tombstones.screen = screen  # type: ignore[method-assign]
            ops: list[Upsert | Delete] = []
            for n in range(size):
                version += 1
                ops.append(Upsert(to_search_doc(raw_customer(b * size + n), version)))
            started = time.perf_counter()
            await writer.apply(ops, stop)
            elapsed = time.perf_counter() - started
            if b >= 2:  # the first two warm up
                timings[kind].append(elapsed)
        await backend.close()
    screened, baseline = stats_ms(timings["screened"]), stats_ms(timings["baseline"])
    return {
        "batch_size": size,
        "baseline": baseline,
        "screened": screened,
        "ratio_median": round(screened["median_ms"] / baseline["median_ms"], 3),
    }


async def screen_read(database: Any, size: int, rounds: int = 50) -> dict[str, Any]:
    ids = [f"cus_live{n:08d}" for n in range(size)]
    hits = ids[:-10] + [f"cus_erased{n:08d}" for n in range(10)]
    misses, found = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        await erased_among(database, ids)
        misses.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert len(await erased_among(database, hits)) == 10
        found.append(time.perf_counter() - started)
    return {"ids": size, "no_erased": stats_ms(misses), "ten_erased": stats_ms(found)}


async def erasures(service: CustomerModuleService, rounds: int) -> dict[str, Any]:
    addresses = [{"city": "Oslo", "address_1": "1 A"}, {"city": "Rome", "address_1": "2 B"}]
    customers = await service.create_customers(
        [{"email": f"e{n}.{uuid.uuid4().hex[:6]}@example.com", "addresses": addresses}
         for n in range(rounds)]
    )  # fmt: skip
    timings = []
    for customer in customers:
        started = time.perf_counter()
        await service.erase_customers(customer.id, actor="bench")
        timings.append(time.perf_counter() - started)
    return stats_ms(timings)


async def purge_rate(service: CustomerModuleService, count: int) -> dict[str, Any]:
    for start in range(0, count, 1000):
        await service.create_customers(
            [{"email": f"p{n}.{uuid.uuid4().hex[:6]}@example.com"}
             for n in range(start, min(count, start + 1000))]
        )  # fmt: skip
    long_ago = datetime.now(UTC) - timedelta(days=400)
    await service.store.customers.update_many({}, {"$set": {"deleted_at": long_ago}})
    started = time.perf_counter()
    done = await service.purge_customers(datetime.now(UTC) - timedelta(days=365))
    elapsed = time.perf_counter() - started
    return {
        "erased": done.erased,
        "seconds": round(elapsed, 2),
        "per_s": round(done.erased / elapsed),
    }


async def main(args: argparse.Namespace, uri: str) -> dict[str, Any]:
    name = f"bench_erasure_{uuid.uuid4().hex[:6]}"
    service = await CustomerModuleService.connect(uri, name)
    database = service.database
    out: dict[str, Any] = {"receipts": args.receipts, "load_before": load()}
    try:
        out["apply_batch_no_receipts"] = await screen_on_apply(
            database, max(2, args.batches // 2), args.batch_size
        )
        out["apply_batch_no_receipts"]["load"] = load()
        await seed_receipts(database, args.receipts)
        out["apply_batch"] = await screen_on_apply(database, args.batches, args.batch_size)
        out["apply_batch"]["load"] = load()
        out["screen_read"] = await screen_read(database, args.batch_size)
        out["screen_read"]["load"] = load()
        out["erase_one"] = await erasures(service, args.erasures)
        out["erase_one"]["load"] = load()
        out["purge"] = await purge_rate(service, args.purge)
        out["purge"]["load"] = load()
    finally:
        await service.store.client.drop_database(name)
        await service.close()
    return out


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=100_000, help="at least 10")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--erasures", type=int, default=100)
    parser.add_argument("--purge", type=int, default=5000)
    args = parser.parse_args()
    args.receipts = max(args.receipts, 10)  # the screen's read is measured with 10 erased ids
    uri = os.environ.get("MONGODB_URI")
    if uri:
        print(json.dumps(asyncio.run(main(args, uri)), indent=2))
        return
    with EmbeddedServer.ephemeral() as server:
        print(json.dumps(asyncio.run(main(args, server.uri)), indent=2))


if __name__ == "__main__":
    cli()
