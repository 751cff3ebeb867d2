"""Duplicate detection: quality (precision, recall) and speed (scan, single-customer lookup).

    python scripts/bench_duplicates.py --customers 100000 [--data-dir DIR] [--lookups 500]
    python scripts/bench_duplicates.py --customers 100000 --in-memory   # quality only, no DB

1. Generates N customers with planted duplicates and hard negatives (``duplicate_data.py``,
   deterministic) and seeds them through ``create_customers`` (batches of 1,000) on the embedded
   server (``--sync-on-commit``; a ``--data-dir`` seeded with the same base is reused), then
   builds the tantivy index (a full reindex).
2. Runs ``scan_duplicates`` at the default threshold: its time, and precision and recall per
   pair against the planted truth (every pair inside a cluster is a predicted pair), overall and
   by kind of planted duplicate, plus the false pairs by kind of hard negative.
3. Times ``find_duplicates`` for ``--lookups`` customers (half with a planted duplicate):
   p50/p99, against a baseline measured alongside (the admin ranked lookup of the same
   customer's name, ``search_customers``), and how often its answer equals the scan's pairs
   of that customer.

``--in-memory`` skips the database: the same records as stored documents, scored and clustered
by the same code (quality and the compare phase only). Prints one JSON object; the load
average is in it. Run by hand: the machine is shared, so compare figures of one run.
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
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from duplicate_data import Base, make_base

from app.duplicates import (
    DEFAULT_MIN_SCORE,
    Cluster,
    DetectionOptions,
    cluster_pairs,
    profile_of,
    scored_pairs,
)
from app.embedded import EmbeddedServer
from app.service import CustomerModuleService
from indexers.backends.embedded import EmbeddedBackend
from indexers.sync import Indexer
from indexers.wiring import search_reader

DATABASE = "bench_duplicates"


def load() -> dict[str, float]:
    one, five, _ = os.getloadavg()
    return {"load_1m": round(one, 2), "load_5m": round(five, 2)}


def predicted_pairs(clusters: list[Cluster]) -> set[tuple[str, str]]:
    return {
        (a, b)
        for cluster in clusters
        for n, a in enumerate(cluster.customer_ids)
        for b in cluster.customer_ids[n + 1 :]
    }


def variations(kind: str) -> list[str]:
    """ "planted duplicate (swap+typo)" → ["swap", "typo"]."""
    return kind.partition("(")[2].rstrip(")").split("+") if "(" in kind else [kind]


def quality(base: Base, ids: list[str], clusters: list[Cluster]) -> dict[str, Any]:
    """Precision and recall per pair, recall by planted kind, false pairs by record kind."""
    truth = {tuple(sorted((ids[a], ids[b]))) for a, b in base.true_pairs()}
    found = predicted_pairs(clusters)
    hits = truth & found
    kind_of = {}
    for index, record_id in enumerate(ids):
        kind_of[record_id] = base.record_kinds[index]
    missed = Counter(v for _, b in truth - found for v in variations(kind_of[b]))
    planted = Counter(v for _, b in truth for v in variations(kind_of[b]))
    false = Counter("/".join(sorted({kind_of[a], kind_of[b]})) for a, b in found - truth)
    return {
        "true_pairs": len(truth),
        "predicted_pairs": len(found),
        "precision": round(len(hits) / len(found), 4) if found else None,
        "recall": round(len(hits) / len(truth), 4) if truth else None,
        "clusters": len(clusters),
        "recall_by_variation": {
            k: round(1 - missed[k] / n, 3) for k, n in sorted(planted.items(), key=lambda i: -i[1])
        },
        "false_pairs_by_kind": dict(false.most_common(12)),
    }


def in_memory(base: Base) -> dict[str, Any]:
    options = DetectionOptions()
    ids = [f"cus_{n:08d}" for n in range(len(base.records))]
    docs = [{"_id": i, **record} for i, record in zip(ids, base.records, strict=True)]
    start = time.perf_counter()
    profiles = [profile_of(doc, options) for doc in docs]
    profiled = time.perf_counter() - start
    pairs = scored_pairs(profiles, min_score=DEFAULT_MIN_SCORE)
    clusters = cluster_pairs(pairs, DEFAULT_MIN_SCORE)
    took = time.perf_counter() - start
    return {
        "profiles_s": round(profiled, 2),
        "compare_s": round(took - profiled, 2),
        **load(),
        "quality": quality(base, ids, clusters),
    }


async def reused(service: CustomerModuleService, base: Base) -> list[str] | None:
    """The ids of a data dir seeded before with this very base (in creation order), if so."""
    docs = await service.store.customers.find({}, {"email": 1}).sort("_id", 1).to_list()
    emails = [(r.get("email") or "").strip().lower() or None for r in base.records]
    if [d.get("email") for d in docs] != emails:
        return None
    return [d["_id"] for d in docs]


async def seed(service: CustomerModuleService, base: Base) -> tuple[list[str], float]:
    known = await reused(service, base)
    if known is not None:
        return known, 0.0
    start = time.perf_counter()
    ids: list[str] = []
    for offset in range(0, len(base.records), 1000):
        created = await service.create_customers(base.records[offset : offset + 1000])
        ids += [customer.id for customer in created]
    return ids, time.perf_counter() - start


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def lookups(
    service: CustomerModuleService, base: Base, ids: list[str], clusters: list[Cluster], n: int
) -> dict[str, Any]:
    rng = random.Random(5)
    partners: dict[str, set[str]] = {}
    for a, b in predicted_pairs(clusters):
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    planted = [ids[a] for a, _ in base.true_pairs()]
    sample = rng.sample(planted, min(n // 2, len(planted))) + rng.sample(ids, n - n // 2)
    samples, baseline, same = [], [], 0
    for customer_id in sample:
        start = time.perf_counter()
        found = await service.find_duplicates(customer_id, limit=100)
        samples.append(time.perf_counter() - start)
        same += {d.customer.id for d in found} == partners.get(customer_id, set())
        record = base.records[ids.index(customer_id)]
        name = " ".join(filter(None, (record.get("first_name"), record.get("last_name"))))
        start = time.perf_counter()
        await service.search_customers(name or "x", config={"take": 20})
        baseline.append(time.perf_counter() - start)
    mine, theirs = percentiles(samples), percentiles(baseline)
    return {
        **mine,
        "baseline_ranked_lookup_by_name": theirs,
        "p50_ratio_to_baseline": round(mine["p50_ms"] / theirs["p50_ms"], 2),
        **load(),
        "equal_to_scan": round(same / len(sample), 4),
    }


async def with_database(uri: str, data_dir: Path, base: Base, n_lookups: int) -> dict[str, Any]:
    service = await CustomerModuleService.connect(uri, database=DATABASE)
    ids, seeded = await seed(service, base)
    result: dict[str, Any] = {"seed_s": round(seeded, 1), **load()}  # 0: reused
    backend = EmbeddedBackend(data_dir / "search")
    indexer = Indexer(service.database, backend)
    await indexer.run_until_caught_up(reindex=not result["seed_s"], timeout=1800)
    stop = asyncio.Event()
    task = asyncio.create_task(indexer.run(stop))
    indexed = await CustomerModuleService.connect(
        client=service.store.client,
        database=DATABASE,
        index=search_reader(service.database, backend, indexer=indexer),
    )
    start = time.perf_counter()
    clusters = await indexed.scan_duplicates()
    result["scan"] = {"seconds": round(time.perf_counter() - start, 1), **load()}
    result["quality"] = quality(base, ids, clusters)
    print(json.dumps({"scan": result["scan"], "quality": result["quality"]}), file=sys.stderr)
    result["find_duplicates"] = await lookups(indexed, base, ids, clusters, n_lookups)
    stop.set()
    await task
    await backend.close()
    await service.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--dup-share", type=float, default=0.04)
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--in-memory", action="store_true", help="quality only, no database")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    base = make_base(args.customers, dup_share=args.dup_share)
    result: dict[str, Any] = {
        "customers": len(base.records),
        "generated_s": round(time.perf_counter() - start, 1),
        "kinds": dict(Counter(k.split(" (")[0] for k in base.record_kinds)),
    }
    if args.in_memory:
        result.update(in_memory(base))
    else:
        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-duplicates-"))
        data_dir.mkdir(parents=True, exist_ok=True)
        with EmbeddedServer(data_dir, sync_on_commit=True) as server:
            result.update(asyncio.run(with_database(server.uri, data_dir, base, args.lookups)))
    result["threshold"] = DEFAULT_MIN_SCORE
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
