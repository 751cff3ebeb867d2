"""Where a full reindex's time goes: each stage of the copy measured alone, on the same data.

    python scripts/bench_reindex_stages.py --customers 100000 --data-dir DIR [--tree PATH ...]

Stages, per document (the customers are seeded in ``--data-dir`` by ``bench_index_docs.seed``
the first time, then reused):

1. ``read``: the embedded server's read floor, a bare cursor over all ``customers`` with the
   reindex's options (``_id`` order and hint, undecoded ``RawBSONDocument`` pages of
   ``copy_batch_size``, no projection, pages dropped once read): wall docs/s, and the
   client's CPU µs per document.

The other stages run on the first ``--sample`` customers (held in memory at every stage):

2. ``to_search_doc``: decoding a raw page and mapping it (CPU µs per document).
3. ``to_tantivy``: the engine's analysis and document build (CPU µs per document).
4. ``tantivy``: ``add_document`` of the built documents into a fresh generation's writer
   (the reindex's heap and threads), then ``commit``: wall docs/s and process CPU µs per
   document (the indexing threads' CPU included).

Each ``--tree`` is measured in a process of its own, in turn, every round (see
``bench_index_docs.py``); medians per tree, with the 1-minute load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "customers"


async def read_pages(uri: str, batch_size: int, keep: int) -> tuple[list[Any], int, float, float]:
    """Read every customer as the reindex copy does; return the first ``keep`` (in pages),
    the count, wall s and CPU s."""
    from bson.raw_bson import RawBSONDocument
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[Any] = AsyncMongoClient(uri, document_class=RawBSONDocument)
    try:
        collection = client[DATABASE]["customers"]
        pages: list[Any] = []
        count = 0
        wall, cpu = time.perf_counter(), time.process_time()
        cursor = collection.find({}, batch_size=batch_size).sort("_id", 1).hint([("_id", 1)])
        while page := await cursor.to_list(batch_size):
            if count < keep:
                pages.append(page)
            count += len(page)
        return pages, count, time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await client.close()


def cpu_us(count: int, work: Any) -> float:
    start = time.process_time()
    work()
    return round((time.process_time() - start) / count * 1e6, 2)


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the code of ``args.tree[0]`` (this process imports from it)."""
    sys.path[:0] = [str(args.tree[0]), str(ROOT / "scripts")]
    from app.embedded import EmbeddedServer
    from indexers.backends.embedded.documents import to_tantivy
    from indexers.backends.embedded.generation import Generation
    from indexers.documents import to_search_doc

    with EmbeddedServer(args.data_dir, sync_on_commit=True, start_timeout=300) as server:
        pages, total, read_wall, read_cpu = asyncio.run(
            read_pages(server.uri, args.batch_size, args.sample)
        )
    count = sum(map(len, pages))
    docs: list[Any] = []
    mapped = cpu_us(count, lambda: docs.extend(to_search_doc(r, 1) for p in pages for r in p))
    pages.clear()
    built: list[Any] = []
    analysed = cpu_us(count, lambda: built.extend(map(to_tantivy, docs)))
    docs.clear()
    with tempfile.TemporaryDirectory(prefix="reindex-stage-", dir=args.data_dir) as path:
        generation = Generation(Path(path), fresh=True)
        writer = generation.writer
        wall, cpu = time.perf_counter(), time.process_time()
        for doc in built:
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        index_wall, index_cpu = time.perf_counter() - wall, time.process_time() - cpu
        generation._writer = None
    return {
        "read_docs": total,
        "read_docs_per_s": round(total / read_wall),
        "read_client_cpu_us": round(read_cpu / total * 1e6, 2),
        "sample_docs": count,
        "to_search_doc_us": mapped,
        "to_tantivy_us": analysed,
        "tantivy_docs_per_s": round(count / index_wall),
        "tantivy_cpu_us": round(index_cpu / count * 1e6, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--tree", type=Path, action="append", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--sample", type=int, default=200_000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    trees = [t.resolve() for t in args.tree or [ROOT]]
    sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
    from bench_index_docs import seed

    from app.embedded import EmbeddedServer

    args.data_dir.mkdir(parents=True, exist_ok=True)
    with EmbeddedServer(args.data_dir, sync_on_commit=True, start_timeout=300) as server:
        asyncio.run(seed(server.uri, args.customers))
    runs: dict[str, list[dict[str, Any]]] = {str(t): [] for t in trees}
    for _ in range(args.rounds):
        for tree in trees:
            command = [sys.executable, __file__, "--worker", "--tree", str(tree)]
            command += ["--data-dir", str(args.data_dir), "--batch-size", str(args.batch_size)]
            command += ["--sample", str(args.sample)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            runs[str(tree)].append(json.loads(out.strip().splitlines()[-1]))
            print(str(tree), runs[str(tree)][-1], file=sys.stderr, flush=True)
    medians = {
        tree: {key: statistics.median(run[key] for run in results) for key in results[0]}
        for tree, results in runs.items()
    }
    report = {"median": medians, "runs": runs, "load_average_1m": os.getloadavg()[0]}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
