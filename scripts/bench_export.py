"""Benchmark the streaming export on a seeded data directory; prints one JSON object.

    python scripts/seed_export_data.py /tmp/export-bench --customers 100000
    python scripts/bench_export.py /tmp/export-bench

For each format (JSONL, our CSV, Shopify's CSV, and JSONL gzipped) a fresh child process
exports every customer through ``export_customers`` and throws the bytes away, reporting
customers/s and its peak RSS (``ru_maxrss``). The baseline, in the same run, is a raw read of
the same documents (PyMongo ``find`` in ``_id`` order, nothing encoded): the export's rate as
a share of it says what the windows and the writers cost. Run it again after topping the
directory up (e.g. to 1,000,000) and compare the peak RSS: it must not grow with the count.
The machine is shared: the 1-minute load average is printed next to every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.embedded import EmbeddedServer
from app.service import CustomerModuleService

RUNS = ("baseline", "jsonl", "csv", "shopify", "jsonl.gz")


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def _one(uri: str, run: str) -> dict[str, Any]:
    """Export (or read, for the baseline) every customer once; time it."""
    service = await CustomerModuleService.connect(uri, "customers")
    try:
        started = time.perf_counter()
        count, size = 0, 0
        if run == "baseline":
            cursor = service.store.customers.find({}).sort("_id", 1).batch_size(1_000)
            async for _doc in cursor:
                count += 1
        else:
            fmt, _, packed = run.partition(".")
            export = await service.export_customers(format=fmt, gzip=bool(packed))
            async for chunk in export:
                size += len(chunk)
            count = export.written
        seconds = time.perf_counter() - started
    finally:
        await service.close()
    return {
        "customers": count,
        "seconds": round(seconds, 2),
        "customers_per_s": round(count / seconds),
        "mb": round(size / 1e6, 1),
        "peak_rss_mb": _peak_rss_mb(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=RUNS)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: one run
    parser.add_argument("--uri", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(asyncio.run(_one(args.uri, args.one))))
        return 0
    results: dict[str, Any] = {}
    with EmbeddedServer(args.data_dir, sync_on_commit=False) as server:
        for run in args.runs:
            child = subprocess.run(
                [sys.executable, __file__, str(args.data_dir), "--one", run, "--uri", server.uri],
                capture_output=True,
                text=True,
                check=True,
            )
            results[run] = json.loads(child.stdout)
            print(run, results[run], file=sys.stderr)
    baseline = results.get("baseline", {}).get("customers_per_s")
    if baseline:
        for result in results.values():
            result["share_of_baseline"] = round(result["customers_per_s"] / baseline, 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
