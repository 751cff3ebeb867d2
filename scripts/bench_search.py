"""Benchmark the search index (issue 4 §6). Skeleton: the engine-level part runs today.

``--level engine`` (default) feeds N synthetic customers straight into a backend through
``to_search_doc`` (no MongoDB), then times a fixed query mix: list pages (no filter, group
filter, ``q`` words) with exact counts, and ranked lookups. Reports docs/s and p50/p99 in ms.

``--level service`` / ``--level http`` (TODO, lead / indexer engineer): seed through the service,
let the sync indexer catch up, time the same mix through ``CustomerModuleService`` and over
HTTP, the MongoDB-side ``q`` baseline on a handful of queries (ratio), full reindex docs/s and
the sync lag (write acknowledged → searchable) at 200 writes/s for 60 s.

Usage: python scripts/bench_search.py --n 100000 [--dir /tmp/bench-index] [--reuse]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexers.backends.base import SearchBackend, Upsert
from indexers.documents import to_search_doc
from indexers.query import ListQuery, RankedQuery

FIRST = """
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara
Richard Susan Joseph Jessica Thomas Sarah Charles Karen Chris Nancy Daniel Lisa Matthew
Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna
Joshua Michelle Kenneth Dorothy Kevin Carol Brian Amanda George Melissa Edward Deborah
Ronald Stephanie Timothy Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen
Gary Amy Nicholas Shirley Eric Angela Jonathan Helen Stephen Anna Larry Brenda Justin
Pamela Scott Nicole Brandon Emma Benjamin Samantha Samuel Katherine Gregory Christine
Frank Debra Alexander Rachel Raymond Catherine Patrick Carolyn Jack Janet Dennis Ruth
Jerry Maria Tyler Heather Aaron Diane Jose Virginia
""".split()  # noqa: SIM905 - a word list reads better as text
LAST = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White
Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres
Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts
Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales
Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos
Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes
Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez
""".split()  # noqa: SIM905 - a word list reads better as text
COMPANY = """
Acme Globex Initech Umbrella Hooli Stark Wayne Wonka Tyrell Cyberdyne Soylent Aperture
Vandelay Massive Dynamic Oceanic Gringotts Monarch Sirius Blue
""".split()  # noqa: SIM905 - a word list reads better as text
DOMAINS = [
    "example.com",
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "mail.net",
    "acme.io",
    "corp.org",
]
GROUPS = [f"cusgroup_{i:02d}" for i in range(20)]
BASE = datetime(2024, 1, 1, tzinfo=UTC)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(at: datetime, n: int) -> str:
    """Return a ULID for time ``at`` whose random part is derived from ``n`` (deterministic)."""
    value = (int(at.timestamp() * 1000) << 80) | (hash((n, 7)) & ((1 << 80) - 1))
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def synthetic_customer(n: int, rng: random.Random) -> dict[str, Any]:
    """Return a plausible raw customer number ``n`` (deterministic for a given rng state)."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    digits = f"{rng.randrange(200, 999)}{rng.randrange(100, 999)}{rng.randrange(1000, 9999)}"
    phone = rng.choice(
        [
            f"+1 ({digits[:3]}) {digits[3:6]}-{digits[6:]}",
            f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
            f"+1{digits}",
            None,
        ]
    )
    created = BASE + timedelta(milliseconds=n * 61)
    return {
        "_id": "cus_" + ulid(created, n),
        "email": f"{first}.{last}{n}@{rng.choice(DOMAINS)}".lower(),
        "first_name": first,
        "last_name": last,
        "company_name": rng.choice(COMPANY) if rng.random() < 0.3 else None,
        "phone": phone,
        "has_account": rng.random() < 0.6,
        "created_at": created,
        "updated_at": created,
        "deleted_at": None if rng.random() > 0.02 else created,
        "groups": [
            {"customer_group_id": g, "deleted_at": None}
            for g in rng.sample(GROUPS, rng.choice((0, 0, 1, 2)))
        ],
    }


async def fill(backend: SearchBackend, n: int, batch: int) -> float:
    """Index n synthetic customers; return docs/s (Python doc building included)."""
    rng = random.Random(42)
    start = time.perf_counter()
    ops: list[Upsert] = []
    for i in range(n):
        ops.append(Upsert(to_search_doc(synthetic_customer(i, rng), 1)))
        if len(ops) >= batch:
            await backend.apply(ops)
            ops = []
            if i % (batch * 20) == batch * 20 - 1:
                rate = (i + 1) / (time.perf_counter() - start)
                print(f"  {i + 1:>9,} docs  {rate:,.0f} docs/s", flush=True)
    if ops:
        await backend.apply(ops)
    await backend.refresh()
    return n / (time.perf_counter() - start)


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float, Any]:
    """Return (p50 ms, p99 ms, last result) of ``repeat`` awaited calls."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = await fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return statistics.median(times), p99, result


LIST_MIX: Sequence[tuple[str, ListQuery]] = (
    ("list page 1 (no filter)", ListQuery(take=50)),
    ("list page 1 created_at DESC", ListQuery(take=50, order=(("created_at", "DESC"),))),
    ("list page at offset 50%", ListQuery(take=50, skip=-1)),  # skip filled in at run time
    ("list group filter", ListQuery(take=50, group_ids=frozenset({"cusgroup_03"}))),
    ("list has_account", ListQuery(take=50, has_account=True)),
    ("q last name", ListQuery(q="gonzalez", take=50)),
    ("q first+last", ListQuery(q="maria gonzalez", take=50)),
    ("q email fragment", ListQuery(q="son12", take=50)),
    ("q phone last 4", ListQuery(q="4567", take=50)),
    ("q company word", ListQuery(q="globex", take=50)),
    ("q short word", ListQuery(q="jo", take=50)),
    ("q common (.com)", ListQuery(q=".com", take=50)),
)
RANKED_MIX = (
    "gonzalez",
    "maria gonzalez",
    "gonzales maria",
    "son12",
    "4567",
    "globex",
    "jhon smith",
    "jenn",
    "maria.gonzalez5@",
)


async def run_queries(backend: SearchBackend, n: int, repeat: int) -> None:
    for name, query in LIST_MIX:
        if query.skip == -1:
            query = ListQuery(take=query.take, skip=n // 2)
        p50, p99, (_ids, count) = await timed(functools.partial(backend.list_ids, query), repeat)
        print(f"{name:<32} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  count {count:>9,}")
    for q in RANKED_MIX:
        rq = RankedQuery(q=q, limit=20)
        p50, p99, (hits, count) = await timed(functools.partial(backend.search, rq), repeat)
        top = hits[0].id if hits else "-"
        print(f"ranked {q!r:<25} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  count {count:>9,} top {top}")


async def main_async(args: argparse.Namespace) -> int:
    if args.engine == "elastic":
        from indexers.backends.elastic import ElasticBackend

        backend: SearchBackend = ElasticBackend(args.elasticsearch_url, prefix="bench")
    else:
        from indexers.backends.embedded import EmbeddedBackend

        backend = EmbeddedBackend(Path(args.dir))
    try:
        if not (args.reuse and await backend.count() >= args.n):
            generation = await backend.create_generation()
            writer = backend.writer_for(generation)
            rate = await fill(writer, args.n, args.batch)
            await backend.activate(generation)
            print(f"indexed {args.n:,} customers at {rate:,.0f} docs/s")
        await run_queries(backend, args.n, args.repeat)
    finally:
        await backend.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dir", default="/tmp/bench-search-index")
    parser.add_argument("--engine", choices=("embedded", "elastic"), default="embedded")
    parser.add_argument("--elasticsearch-url", default="http://localhost:9200")
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--reuse", action="store_true", help="keep an existing index of >= n")
    parser.add_argument("--level", choices=("engine", "service", "http"), default="engine")
    args = parser.parse_args(argv)
    if args.level != "engine":
        parser.error("--level service/http: not written yet (see the module docstring)")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
