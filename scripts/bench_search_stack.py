"""Benchmark search through the whole stack (issue 4 §6): service, HTTP, baseline, reindex, lag.

    python scripts/bench_search_stack.py --customers 100000 [--data-dir /tmp/bench-stack-100k]

1. Seeds N customers through ``create_customers`` (batches of 1,000, deterministic fake data;
   every 10th customer in one of 20 groups) on the embedded server with ``--sync-on-commit``.
   A data dir that already holds N customers is reused (seeding 1,000,000 takes a while).
2. Full zero-downtime reindex (``run_until_caught_up(reindex=True)``, as ``customers reindex``;
   the first sync of a fresh data dir is the same thing): docs/s.
3. The query mix through the service (index attached, read-your-writes on): list-``q`` and
   ranked lookups, plus ``GET /admin/customers``-equivalent pages with no filter and a group
   filter (count included): p50/p99.
4. The MongoDB-side ``q`` baseline on the same data (index detached; a few queries: it is slow),
   reported as a ratio to the index-served p50.
5. Sync lag at a sustained write rate: each write's ack → ``wait_until_applied`` returns
   (applied and refreshed, i.e. searchable): p50/p99.
6. The same mix over HTTP against ``customers serve`` on the same data (single client).

Prints one JSON object. Run by hand; the machine is shared, so compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchlib import lag  # noqa: E402
from benchlib.http import served_app  # noqa: E402
from pymongo import UpdateOne  # noqa: E402
from seed_data import customer_batches, fake_customers  # noqa: E402

from app.embedded import EmbeddedServer  # noqa: E402
from app.ids import new_id  # noqa: E402
from app.models import utcnow  # noqa: E402
from app.service import CustomerModuleService  # noqa: E402
from indexers.backends.embedded import EmbeddedBackend  # noqa: E402
from indexers.sync import Indexer  # noqa: E402
from indexers.wiring import search_reader  # noqa: E402

DATABASE = "customers"
GROUPS = 20


def stats(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
    }


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return stats(samples)


def query_mix() -> dict[str, str]:
    """Words that exist in the seeded data (the generator is deterministic)."""
    sample = list(fake_customers(50))
    someone = sample[7]
    phone = next(c["phone"] for c in sample if c["phone"])
    company = next(c["company_name"] for c in sample if c["company_name"])
    last = someone["last_name"]
    typo = last[0] + last[2] + last[1] + last[3:] if len(last) > 4 else last + "x"
    return {
        "last name": last,
        "first + last name": f"{someone['first_name']} {last}",
        "email fragment": someone["email"].split("@")[0][2:9],
        "phone last 4": "".join(ch for ch in phone if ch.isdigit())[-4:],
        "company word": company.split()[0].strip(",").lower(),
        "typo": typo,
    }


async def seed(service: CustomerModuleService, count: int) -> dict[str, Any]:
    existing = await service.store.customers.estimated_document_count()
    if existing >= count:
        return {"seeded": 0, "reused": existing}
    groups = await service.create_customer_groups(
        [{"name": f"bench group {i}"} for i in range(GROUPS)]
    )
    start = time.perf_counter()
    made = 0
    for batch in customer_batches(count):
        created = await service.create_customers(batch)
        made += len(created)
        # Memberships written in bulk (the seeding, not the service, is what this speeds up).
        members = [c.id for i, c in enumerate(created) if (made - len(created) + i) % 10 == 0]
        if members:
            now = utcnow()
            await service.store.customers.bulk_write(
                [
                    UpdateOne(
                        {"_id": cid},
                        {
                            "$push": {
                                "groups": {
                                    "id": new_id("cusgc"),
                                    "customer_group_id": groups[k % GROUPS].id,
                                    "created_by": None,
                                    "metadata": None,
                                    "created_at": now,
                                    "updated_at": now,
                                    "deleted_at": None,
                                }
                            },
                            "$inc": {"version": 1},
                        },
                    )
                    for k, cid in enumerate(members)
                ],
                ordered=False,
            )
        if made % 50_000 == 0:
            print(f"  seeded {made:,} ({made / (time.perf_counter() - start):,.0f}/s)", flush=True)
    return {"seeded": made, "create_per_s": round(made / (time.perf_counter() - start))}


async def sync_lag(service: CustomerModuleService, indexer: Indexer, rate: int, seconds: float):
    """Write at ``rate``/s for ``seconds``; time ack → searchable (the in-process indexer's
    ``wait_until_applied``) for every 10th write."""
    # ids straight from MongoDB: a 2,000-customer list page is a search, over its budget here
    ids = [d["_id"] async for d in service.store.customers.find({}, {"_id": 1}).limit(2000)]
    rng = random.Random(3)
    result = await lag.sync_lag(
        lambda i: service.update_customers(rng.choice(ids), {"first_name": f"Lag{i}"}),
        lambda i: indexer.wait_until_applied(timeout=10),
        rate=rate,
        seconds=seconds,
    )
    return {**result, "searchable": result["n"]}


async def service_level(uri: str, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    service = await CustomerModuleService.connect(uri, database=DATABASE)
    result: dict[str, Any] = {"seed": await seed(service, args.customers)}
    backend = EmbeddedBackend(data_dir / "search")
    indexer = Indexer(service.database, backend)
    start = time.perf_counter()
    await indexer.run_until_caught_up(reindex=True, timeout=600)  # also on a reused data dir
    indexed = await backend.count()
    result["full_reindex_s"] = round(time.perf_counter() - start, 1)
    result["full_reindex_docs_per_s"] = round(indexed / (time.perf_counter() - start))
    stop = asyncio.Event()
    task = asyncio.create_task(indexer.run(stop))
    plain = service  # MongoDB answers: the baseline
    service = await CustomerModuleService.connect(
        client=plain.store.client,
        database=DATABASE,
        index=search_reader(plain.database, backend, indexer=indexer),
    )
    group = (await service.list_customer_groups({}, {"take": 1}))[0].id
    mix = query_mix()
    repeat = args.repeat
    served: dict[str, Any] = {}
    served["list no filter (page 1 + count)"] = await timed(
        lambda: service.list_and_count_customers({}, {"take": 50}), repeat
    )
    served["list group filter (+ count)"] = await timed(
        lambda: service.list_and_count_customers({"groups": group}, {"take": 50}), repeat
    )
    for name, q in mix.items():
        served[f"list q {name} ({q})"] = await timed(
            functools.partial(service.list_and_count_customers, {"q": q}, {"take": 50}), repeat
        )
        served[f"ranked {name} ({q})"] = await timed(
            functools.partial(service.search_customers, q), repeat
        )
    result["service"] = served
    baseline: dict[str, Any] = {}
    for name in ("last name", "email fragment", "phone last 4")[: args.baseline_queries]:
        q = mix[name]
        base = await timed(
            functools.partial(plain.list_and_count_customers, {"q": q}, {"take": 50}),
            args.baseline_repeat,
        )
        baseline[f"mongodb q {name}"] = {
            **base,
            "ratio_to_index_p50": round(
                base["p50_ms"] / served[f"list q {name} ({q})"]["p50_ms"], 1
            ),
        }
    result["mongodb_baseline"] = baseline
    result["sync_lag"] = await sync_lag(service, indexer, args.write_rate, args.lag_seconds)
    stop.set()
    await task
    await backend.close()
    await plain.close()  # the one that owns the client
    return result


def http_level(uri: str, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Time the mix over HTTP against ``customers serve`` (its own in-process indexer)."""
    env = {"MONGODB_URI": uri, "MONGODB_DATABASE": DATABASE, "CUSTOMERS_DATA_DIR": str(data_dir)}
    with served_app(env) as app:
        conn = http.client.HTTPConnection(app.host, app.port, timeout=30)

        def get(path: str) -> float:
            start = time.perf_counter()
            conn.request("GET", path, headers=app.headers)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, (path, response.status)
            return (time.perf_counter() - start) * 1000

        conn.request("GET", "/admin/customer-groups?limit=1", headers=app.headers)
        group = json.loads(conn.getresponse().read())["customer_groups"][0]["id"]
        paths = {
            "GET /admin/customers": "/admin/customers",
            "GET /admin/customers?groups[]=": f"/admin/customers?groups[]={group}",
        }
        for name, q in query_mix().items():
            quoted = urllib.parse.quote(q)
            paths[f"list q {name}"] = f"/admin/customers?q={quoted}"
            paths[f"search {name}"] = f"/admin/customers/search?q={quoted}"
        for path in paths.values():  # warm up
            get(path)
        return {
            name: stats([get(path) for _ in range(args.repeat)]) for name, path in paths.items()
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--baseline-repeat", type=int, default=3)
    parser.add_argument("--baseline-queries", type=int, default=3, help="0 skips the baseline")
    parser.add_argument("--write-rate", type=int, default=200)
    parser.add_argument("--lag-seconds", type=float, default=60)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-stack-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    with EmbeddedServer(data_dir, sync_on_commit=True) as server:
        result = asyncio.run(service_level(server.uri, data_dir, args))
        if not args.skip_http:
            result["http"] = http_level(server.uri, data_dir, args)
    result["customers"] = args.customers
    result["load_average_1m"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
