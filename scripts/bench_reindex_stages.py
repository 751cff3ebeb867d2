"""Where a full reindex's time goes: each stage of the copy measured alone, on the same data.

    python scripts/bench_reindex_stages.py --customers 100000 --data-dir DIR [--tree PATH ...]

Stages, per document (the customers are seeded in ``--data-dir`` by ``bench_index_docs.seed``
the first time, then reused):

1. ``read``: the embedded server's read floor, a bare cursor over all ``customers`` with the
   reindex's options (``_id`` order and hint, undecoded ``RawBSONDocument`` pages of
   ``copy_batch_size``, no projection, pages dropped once read): wall docs/s, and the
   client's CPU µs per document.

The other stages run on the first ``--sample`` customers (held in memory at every stage):

2. ``to_search_doc``: decoding a raw page and mapping it, as the copy does
   (``indexers.backfill._search_docs`` where the tree has it; CPU µs per document).
3. ``to_tantivy``: the engine's analysis and document build (CPU µs per document).
4. ``tantivy``: ``add_document`` of the built documents into a fresh generation's writer
   (the reindex's heap and threads), then ``commit``: wall docs/s and process CPU µs per
   document (the indexing threads' CPU included). ``tantivy_2_threads``: the same with two
   indexing threads (what the engine alone gets from both cores).

The floor: the CPU µs a document costs in all (the server's read, the client's, the mapping,
the analysis, tantivy's indexing) and the docs/s that this machine's cores could give if every
stage ran in parallel with no wait (``cores * 1e6 / cpu_us_total``): no reindex of this design
gets beyond it here.

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


def process_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of the process ``pid`` so far (Linux ``/proc``; 0 if gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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

    try:
        from indexers.backfill import _search_docs

        def mapping(page: list[Any]) -> list[Any]:
            return list(_search_docs(page, 1)[0])
    except ImportError:  # a tree from before it

        def mapping(page: list[Any]) -> list[Any]:
            return [to_search_doc(raw, 1) for raw in page]

    with EmbeddedServer(args.data_dir, sync_on_commit=True, start_timeout=300) as server:
        server_cpu = process_cpu_s(server.pid)
        pages, total, read_wall, read_cpu = asyncio.run(
            read_pages(server.uri, args.batch_size, args.sample)
        )
        server_cpu = process_cpu_s(server.pid) - server_cpu
    count = sum(map(len, pages))
    docs: list[Any] = []

    def map_all() -> None:
        for page in pages:
            docs.extend(mapping(page))

    mapped = cpu_us(count, map_all)
    pages.clear()
    built: list[Any] = []
    analysed = cpu_us(count, lambda: built.extend(map(to_tantivy, docs)))
    docs.clear()
    indexed = {
        name: index_once(Generation, args.data_dir, built, threads)
        for name, threads in (("tantivy", None), ("tantivy_2_threads", 2))
    }
    out: dict[str, Any] = {
        "read_docs": total,
        "read_docs_per_s": round(total / read_wall),
        "read_server_cpu_us": round(server_cpu / total * 1e6, 2),
        "read_client_cpu_us": round(read_cpu / total * 1e6, 2),
        "sample_docs": count,
        "to_search_doc_us": mapped,
        "to_tantivy_us": analysed,
    }
    for name, (wall, cpu) in indexed.items():
        out[f"{name}_docs_per_s"] = round(count / wall)
        out[f"{name}_cpu_us"] = round(cpu / count * 1e6, 2)
    total_us = (
        out["read_server_cpu_us"] + out["read_client_cpu_us"] + mapped + analysed
        + out["tantivy_cpu_us"]
    )  # fmt: skip
    out["cpu_us_total"] = round(total_us, 2)
    out["cores"] = cores = os.cpu_count() or 1
    out["floor_docs_per_s"] = round(cores * 1e6 / total_us)
    return out


def index_once(
    generation_class: Any, data_dir: Path, built: list[Any], threads: int | None
) -> tuple[float, float]:
    """Wall and process CPU seconds to index ``built`` into a fresh generation and commit
    (``threads``: indexing threads; None: the reindex's own writer)."""
    with tempfile.TemporaryDirectory(prefix="reindex-stage-", dir=data_dir) as path:
        generation = generation_class(Path(path), fresh=True)
        if threads is None:
            writer = generation.writer
        else:
            from indexers.backends.embedded.generation import HEAP_BYTES

            writer = generation.index.writer(HEAP_BYTES, threads)
        wall, cpu = time.perf_counter(), time.process_time()
        for doc in built:
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        spent = time.perf_counter() - wall, time.process_time() - cpu
        generation._writer = None
        return spent


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
