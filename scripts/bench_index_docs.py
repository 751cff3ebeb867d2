"""Benchmark building the search index: the cost of one document, and a full reindex.

    python scripts/bench_index_docs.py --customers 100000 [--data-dir DIR] [--tree PATH ...]

1. Per document, no I/O: N raw customers (the MongoDB shape; deterministic fake data, every
   10th in a group, every 50th soft-deleted) through ``to_search_doc``, then ``to_tantivy``
   and ``es_document``: CPU µs per document (the best of three passes; CPU time, so that other
   work on a shared machine counts less).
2. A full zero-downtime reindex from MongoDB into tantivy (``run_until_caught_up(reindex=True)``,
   as ``customers reindex``): documents per second. The N customers are seeded on the embedded
   server in ``--data-dir`` the first time (as ``bench_search_stack.py`` does) and reused.
3. Then the rebuild of an index of another schema from itself (``indexers.upgrade``, at the
   indexer's next start; the schema fingerprint of the index from step 2 is forged): documents
   per second, end to end. Skipped for a tree without it.

Each ``--tree`` is a checkout of this repository (``git worktree add /tmp/before main``) whose
code is measured in a process of its own; with several, every round runs each tree once in
turn, so a busy machine slows them alike, and the medians are reported per tree. Run by hand;
the machine is shared, so compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "customers"


def raw_customers(count: int) -> Iterator[dict[str, Any]]:
    """Yield ``count`` stored customer documents as MongoDB holds them."""
    from seed_data import fake_customers

    base = datetime(2024, 1, 1, tzinfo=UTC)
    for n, data in enumerate(fake_customers(count)):
        at = base + timedelta(seconds=n)
        phone = data["phone"]
        yield {
            "_id": f"cus_01J{n:023d}",
            "email": data["email"],
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "company_name": data["company_name"],
            "phone": phone,
            "phone_digits": "".join(c for c in phone if c.isdigit()) if phone else None,
            "has_account": n % 3 == 0,
            "created_by": None,
            "created_at": at,
            "updated_at": at,
            "deleted_at": at if n % 50 == 0 else None,
            "groups": [{"customer_group_id": f"cusgroup_{n % 20}", "deleted_at": None}]
            if n % 10 == 0
            else [],
        }


def per_document_us(items: list[Any], build: Callable[[Any], Any]) -> float:
    """CPU µs per item of ``build``, the best of three passes."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for item in items:
            build(item)
        best = min(best, time.process_time() - start)
    return round(best / len(items) * 1e6, 2)


async def full_reindex(uri: str, search_dir: Path, name: str) -> dict[str, Any]:
    from pymongo import AsyncMongoClient

    from indexers.backends.embedded import EmbeddedBackend
    from indexers.sync import Indexer

    client: AsyncMongoClient[Any] = AsyncMongoClient(uri)
    backend = EmbeddedBackend(search_dir)
    try:
        indexer = Indexer(client[DATABASE], backend, name=name)
        start = time.perf_counter()
        await indexer.run_until_caught_up(reindex=True, timeout=600)
        elapsed = time.perf_counter() - start
        indexed = await backend.count()
        out = {"reindex_s": round(elapsed, 2), "reindex_docs_per_s": round(indexed / elapsed)}
        if importlib.util.find_spec("indexers.upgrade") is not None:
            out.update(await rebuild_from_itself(client, backend, search_dir, name))
    finally:
        await backend.close()
        await client.close()
    return out


async def rebuild_from_itself(
    client: Any, backend: Any, search_dir: Path, name: str
) -> dict[str, Any]:
    """3. The index made incompatible (its schema fingerprint forged, its documents today's):
    the indexer's next start rebuilds it from itself, with no MongoDB copy."""
    from indexers.backends.embedded import EmbeddedBackend
    from indexers.backends.embedded.schema import FINGERPRINT_FILE
    from indexers.sync import Indexer

    active = await backend.active_generation()
    await backend.close()
    (search_dir / active / FINGERPRINT_FILE).write_text("bench-another-schema\n")
    backend = EmbeddedBackend(search_dir)
    try:
        start = time.perf_counter()
        await Indexer(client[DATABASE], backend, name=name).run_until_caught_up(timeout=600)
        elapsed = time.perf_counter() - start
        rebuilt = await backend.count()
        assert await backend.active_generation() != active, "it was not rebuilt"
    finally:
        await backend.close()
    return {"rebuild_s": round(elapsed, 2), "rebuild_docs_per_s": round(rebuilt / elapsed)}


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the code of ``args.tree[0]`` (this process imports from it)."""
    sys.path[:0] = [str(args.tree[0]), str(ROOT / "scripts")]
    from app.embedded import EmbeddedServer
    from indexers.backends.elastic import es_document
    from indexers.documents import to_search_doc

    try:
        from indexers.backends.embedded.documents import to_tantivy
    except ImportError:  # a checkout from before the engine was split into modules
        from indexers.backends.embedded import to_tantivy  # type: ignore[attr-defined,no-redef]

    raws = list(raw_customers(args.customers))
    docs = [to_search_doc(raw, 1) for raw in raws]
    import indexers

    result: dict[str, Any] = {
        "code": str(Path(indexers.__file__).parents[1]),
        "to_search_doc_us": per_document_us(raws, lambda raw: to_search_doc(raw, 1)),
        "to_tantivy_us": per_document_us(docs, to_tantivy),
        "es_document_us": per_document_us(docs, es_document),
    }
    del raws, docs
    tag = f"bench-{zlib.crc32(str(args.tree[0]).encode()):08x}"
    with EmbeddedServer(args.data_dir, sync_on_commit=True) as server:
        result.update(asyncio.run(full_reindex(server.uri, args.data_dir / tag, tag)))
    return result


async def seed(uri: str, count: int) -> int:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[Any] = AsyncMongoClient(uri)
    try:
        customers = client[DATABASE]["customers"]
        if await customers.estimated_document_count() >= count:
            return 0
        await customers.delete_many({})
        batch: list[dict[str, Any]] = []
        for raw in raw_customers(count):
            batch.append({**raw, "version": 1, "addresses": [], "metadata": None})
            if len(batch) == 1_000:
                await customers.insert_many(batch)
                batch = []
        if batch:
            await customers.insert_many(batch)
    finally:
        await client.close()
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--tree", type=Path, action="append", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    trees = [t.resolve() for t in args.tree or [ROOT]]
    data_dir = (args.data_dir or Path(tempfile.mkdtemp(prefix="bench-index-"))).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
    from app.embedded import EmbeddedServer

    with EmbeddedServer(data_dir, sync_on_commit=True) as server:
        seeded = asyncio.run(seed(server.uri, args.customers))
    runs: dict[str, list[dict[str, Any]]] = {str(t): [] for t in trees}
    for _ in range(args.rounds):
        for tree in trees:
            command = [sys.executable, __file__, "--worker", "--tree", str(tree)]
            command += ["--customers", str(args.customers), "--data-dir", str(data_dir)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            runs[str(tree)].append(json.loads(out.strip().splitlines()[-1]))
            print(str(tree), runs[str(tree)][-1], file=sys.stderr, flush=True)
    medians = {
        tree: {
            key: statistics.median(run[key] for run in results)
            for key in results[0]
            if key != "code"
        }
        for tree, results in runs.items()
    }
    report = {"customers": args.customers, "seeded": seeded, "median": medians, "runs": runs}
    report["load_average_1m"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
