"""Benchmark the HTTP API against a running ``customers serve``, and the service directly.

    customers serve --port 9000 &                       # same environment as below
    API_KEY=$(customers api-key create --title bench) \\
        python scripts/bench_api.py --base-url http://127.0.0.1:9000 --customers 100000

Seeds N customers (1-2 addresses each; ``--member-share`` of them in one of ``--groups``
groups) through the service on the server's MongoDB (MONGODB_URI, or the embedded server of
CUSTOMERS_DATA_DIR), unless that many already exist. Then, for each operation, ``--requests``
calls with ``--concurrency`` clients over HTTP (a lean asyncio HTTP/1.1 keep-alive client, so the
client costs little CPU), the same calls on ``CustomerModuleService`` in this process, and both
again one at a time (pure latency). Prints one JSON object; ``overhead_ms_c1`` is HTTP p50 minus
service p50 one at a time, ``overhead_ms`` the same at ``--concurrency``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib.http import Connection
from benchlib.stats import percentile

from app.config import Settings
from app.db import close_client, open_client
from app.service import CustomerModuleService

FIRST = ["Ann", "Bob", "Cy", "Dee", "Eve", "Finn", "Gus", "Hal", "Ida", "Jo", "Kim", "Lou"]
LAST = ["Doe", "James", "Smith", "Lee", "Brown", "Khan", "Rossi", "Novak", "Silva", "Berg"]
CITIES = ["Paris", "Lyon", "Rome", "Oslo", "Lima", "Kyiv", "Cork", "Bonn", "Graz", "Turin"]


def summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
    }


async def measure(
    call: Callable[[int], Awaitable[None]], *, requests: int, concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    counter = iter(range(requests))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(latencies, time.perf_counter() - started)


# --- seeding ---------------------------------------------------------------------------------


async def seed(
    service: CustomerModuleService,
    n: int,
    groups: int,
    rng: random.Random,
    member_share: float,
) -> None:
    existing = await service.list_and_count_customers({}, {"take": 1})
    if existing[1] >= n:
        print(f"seed: {existing[1]} customers already there", file=sys.stderr)
        return
    group_dtos = await service.list_customer_groups({"name": {"$like": "bench-%"}})
    names = {g.name for g in group_dtos}
    for i in range(groups):
        if f"bench-{i}" not in names:
            group_dtos.append(await service.create_customer_groups({"name": f"bench-{i}"}))
    group_ids = [g.id for g in group_dtos]
    started = time.perf_counter()
    done = existing[1]
    while done < n:
        batch = []
        for _ in range(min(1000, n - done)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            batch.append(
                {
                    "email": f"{first}.{last}.{uuid.uuid4().hex[:10]}@example.com".lower(),
                    "first_name": first,
                    "last_name": last,
                    "phone": f"+1 555 {rng.randrange(10**6, 10**7)}",
                    "addresses": [
                        {
                            "city": rng.choice(CITIES),
                            "address_1": f"{rng.randrange(1, 999)} Main St",
                        }
                        for _ in range(rng.choice((1, 2)))
                    ],
                }
            )
        created = await service.create_customers(batch)
        members = [c for c in created if rng.random() < member_share]
        if members:
            await service.add_customer_to_group(
                [{"customer_id": c.id, "customer_group_id": rng.choice(group_ids)} for c in members]
            )
        done += len(created)
        rate = (done - existing[1]) / (time.perf_counter() - started)
        print(f"seed: {done}/{n} ({rate:.0f}/s)", file=sys.stderr, end="\r")
    print(file=sys.stderr)


# --- the run ---------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings.from_env()
    client, server = await open_client(settings)
    service = await CustomerModuleService.connect(client=client, database=settings.mongodb_database)
    rng = random.Random(args.seed)
    try:
        await seed(service, args.customers, args.groups, rng, args.member_share)
        sample = await service.list_customers({}, {"take": 2000, "skip": rng.randrange(0, 1000)})
        ids = [c.id for c in sample]
        groups = [g.id for g in await service.list_customer_groups({"name": {"$like": "bench-%"}})]

        url = urlsplit(args.base_url)
        secret = args.api_key or os.environ.get("API_KEY", "")
        headers = {
            "Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode(),
            "Content-Type": "application/json",
        }
        pool = [Connection(url.hostname or "127.0.0.1", url.port or 80, headers) for _ in range(64)]
        free: asyncio.Queue[Connection] = asyncio.Queue()
        for conn in pool:
            free.put_nowait(conn)

        async def http(method: str, path: str, body: bytes = b"") -> None:
            conn = await free.get()
            try:
                status, _ = await conn.request(method, path, body)
            finally:
                free.put_nowait(conn)
            if status != 200:
                raise RuntimeError(f"{method} {path} -> {status}")

        def new_customer(i: int) -> dict[str, str]:
            return {"email": f"bench-{uuid.uuid4().hex}@example.com", "first_name": "Bench"}

        ops: dict[str, tuple[Callable[[int], Awaitable[None]], Callable[[int], Awaitable[Any]]]] = {
            "get_customer_by_id": (
                lambda i: http(
                    "GET", f"/admin/customers/{ids[i % len(ids)]}?fields=*addresses,*groups"
                ),
                lambda i: service.retrieve_customer(
                    ids[i % len(ids)], {"relations": ["addresses", "groups"]}
                ),
            ),
            "list_customers_by_group": (
                lambda i: http(
                    "GET", f"/admin/customers?limit=50&groups[]={groups[i % len(groups)]}"
                ),
                lambda i: service.list_and_count_customers(
                    {"groups": [groups[i % len(groups)]]}, {"take": 50, "skip": 0}
                ),
            ),
            "create_customer": (
                lambda i: http("POST", "/admin/customers", json.dumps(new_customer(i)).encode()),
                lambda i: service.create_customers(new_customer(i)),
            ),
        }
        results: dict[str, Any] = {}
        for name, (over_http, direct) in ops.items():
            if args.ops and name not in args.ops:
                continue
            requests = args.requests if name != "list_customers_by_group" else args.list_requests
            await measure(over_http, requests=min(100, requests), concurrency=args.concurrency)
            row: dict[str, Any] = {}
            for mode, call, concurrency, count in (
                ("http", over_http, args.concurrency, requests),
                ("service", direct, args.concurrency, requests),
                ("http_c1", over_http, 1, max(1, requests // 4)),
                ("service_c1", direct, 1, max(1, requests // 4)),
            ):
                row[mode] = await measure(call, requests=count, concurrency=concurrency)
                print(f"{name} {mode}: {json.dumps(row[mode])}", file=sys.stderr)
            row["overhead_ms_c1"] = round(row["http_c1"]["p50_ms"] - row["service_c1"]["p50_ms"], 3)
            row["overhead_ms"] = round(row["http"]["p50_ms"] - row["service"]["p50_ms"], 3)
            results[name] = row
            print(f"{name}: {json.dumps(row)}", file=sys.stderr)
        for conn in pool:
            await conn.close()
        total = await service.list_and_count_customers({}, {"take": 1})
        return {
            "customers": total[1],
            "concurrency": args.concurrency,
            "base_url": args.base_url,
            "results": results,
        }
    finally:
        await close_client(client, server)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:9000")
    parser.add_argument("--api-key", help="sk_... (default: $API_KEY)")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument(
        "--member-share", type=float, default=0.1, help="share of customers put in a group"
    )
    parser.add_argument("--requests", type=int, default=4000, help="per operation and mode")
    parser.add_argument("--list-requests", type=int, default=400, help="for the group list")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--ops", nargs="*", help="only these operations (default: all)")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(json.dumps(asyncio.run(main_async(args)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
