"""Benchmark the import: Shopify-CSV rows/s end to end vs ``create_customers``; index catch-up.

    python scripts/bench_import.py [--rows 100000] [--rss-rows 1000000]

1. Writes a Shopify customer CSV of N rows (one default address each, deterministic data).
2. Baseline: the rows, parsed beforehand into service input, through ``create_customers`` in
   batches of 1,000 into a fresh database (only the calls are timed): rows/s.
3. The import: ``import_customers`` of the file into another fresh database, end to end
   (reading, parsing, validating, matching, writing): rows/s and its ratio to the baseline.
   Both run on the embedded server as ``customers serve`` runs it (``--sync-on-commit``), each
   with a sync indexer (tantivy) running in the same process, as in ``serve``. The file is
   cut into ``--rounds`` slices and the two alternate slice by slice, so that a change of
   the shared machine's load weighs on both alike.
4. Read-your-writes: after each slice (untimed), seconds from its end until the indexer has
   applied every write (``wait_until_applied``).
5. ``--rss-rows N``: peak RSS of a process importing N rows and of one importing N/10, to
   show memory does not grow with the file (``--rss-dry-run``: dry runs, which read,
   validate, match and plan every row but write none: much faster on a slow server;
   ``--skip-rate``: only this).

Prints one JSON object with the 1-minute load average at each step (the machine is shared:
compare the figures of one run).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.dataio.layout import SHOPIFY_COLUMNS  # noqa: E402
from app.dataio.readers import read_file  # noqa: E402
from app.embedded import EmbeddedServer  # noqa: E402
from app.service import CustomerModuleService  # noqa: E402
from indexers.backends.embedded import EmbeddedBackend  # noqa: E402
from indexers.sync import Indexer  # noqa: E402

BATCH = 1_000
FIRST = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Ines", "José"]
LAST = ["Lee", "Martin", "Müller", "Nguyen", "Okafor", "Petrov", "Quinn", "Rossi", "Smith"]
CITIES = [("Paris", "FR", "75001"), ("Berlin", "DE", "10115"), ("Austin", "US", "73301")]


def load() -> float:
    return round(os.getloadavg()[0], 2)


def shopify_rows(count: int) -> Iterator[list[str]]:
    """Deterministic Shopify rows: names, email, phone, one default address, a note."""
    for i in range(count):
        city, country, zip_code = CITIES[i % len(CITIES)]
        cells = {
            "First Name": FIRST[i % len(FIRST)],
            "Last Name": LAST[(i // 7) % len(LAST)],
            "Email": f"customer{i}@example.com",
            "Accepts Email Marketing": "yes" if i % 3 else "no",
            "Default Address Company": f"Company {i % 500}" if i % 4 == 0 else "",
            "Default Address Address1": f"{i % 300} Main Street",
            "Default Address City": city,
            "Default Address Country Code": country,
            "Default Address Zip": zip_code,
            "Phone": f"+1 555 {i:07d}",
            "Accepts SMS Marketing": "no",
            "Note": "Prefers email, please" if i % 10 == 0 else "",
            "Tax Exempt": "no",
        }
        yield [cells.get(name, "") for name in SHOPIFY_COLUMNS]


def write_file(path: Path, count: int, first: int = 0) -> int:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(SHOPIFY_COLUMNS)
        writer.writerows(itertools.islice(shopify_rows(first + count), first, None))
    return path.stat().st_size


def write_slices(work_dir: Path, rows: int, rounds: int) -> list[Path]:
    """The rows as ``rounds`` files of consecutive rows."""
    size = -(-rows // rounds)
    paths = []
    for index, first in enumerate(range(0, rows, size)):
        paths.append(work_dir / f"shopify-{index}.csv")
        write_file(paths[-1], min(size, rows - first), first)
    return paths


def service_input(path: Path) -> list[list[dict[str, Any]]]:
    """The file's rows as ``create_customers`` input, in batches (the import's own mapping)."""
    batches: list[list[dict[str, Any]]] = [[]]
    with path.open("rb") as source:
        reading = read_file(source)
        for row in reading.rows:
            if len(batches[-1]) == BATCH:
                batches.append([])
            batches[-1].append({**row.values, "addresses": row.addresses})
        reading.release()
    return batches


class Target:
    """A fresh database with a sync indexer beside it (as in ``serve``)."""

    def __init__(self, uri: str, database: str, index_dir: Path | None) -> None:
        self.uri, self.database, self.index_dir = uri, database, index_dir
        self.seconds = 0.0
        self.rows = 0
        self.catch_up: list[float] = []

    async def __aenter__(self) -> Target:
        self.service = await CustomerModuleService.connect(self.uri, database=self.database)
        if self.index_dir is None:  # --no-indexer: the writes alone
            return self
        self.backend = EmbeddedBackend(self.index_dir)
        self.indexer = Indexer(self.service.database, self.backend)
        await self.indexer.run_until_caught_up(reindex=True, timeout=120)  # the empty build
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.indexer.run(self.stop))
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.index_dir is None:
            await self.service.close()
            return
        self.stop.set()
        await self.task
        await self.backend.close()
        await self.service.close()

    async def timed(self, rows: int, work: Any) -> None:
        """Time ``work()``; then (untimed) wait until the index has applied every write."""
        start = time.perf_counter()
        await work()
        ended = time.perf_counter()
        self.seconds += ended - start
        self.rows += rows
        if self.index_dir is None:
            return
        await self.indexer.wait_until_applied(timeout=600)
        self.catch_up.append(round(time.perf_counter() - ended, 2))

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "seconds": round(self.seconds, 1),
                "rows_per_s": round(self.rows / self.seconds),
                "index_caught_up_s_after_each_round": self.catch_up}  # fmt: skip


async def alternate(
    uri: str, slices: list[Path], work_dir: Path, indexer: bool = True
) -> dict[str, Any]:
    """Baseline and import, a slice of the rows each in turn (so that a shared machine's load
    changes weigh on both alike), each into its own fresh database."""
    loads = [load()]
    async with (
        Target(uri, "base", work_dir / "index-base" if indexer else None) as base,
        Target(uri, "imported", work_dir / "index-import" if indexer else None) as imported,
    ):
        for path in slices:
            batches = service_input(path)
            rows = sum(len(b) for b in batches)

            async def create(batches: list[list[dict[str, Any]]] = batches) -> None:
                for batch in batches:
                    await base.service.create_customers(batch)

            async def load_file(path: Path = path) -> None:
                with path.open("rb") as source:
                    report = await imported.service.import_customers(source, source_name=path.name)
                assert report.counts.created == report.rows, report.counts

            await base.timed(rows, create)
            await imported.timed(rows, load_file)
            loads.append(load())
        result: dict[str, Any] = {
            "create_customers_batches_of_1000": base.summary(),
            "import_customers": imported.summary(),
        }
    ratio = (
        result["import_customers"]["rows_per_s"]
        / result["create_customers_batches_of_1000"]["rows_per_s"]
    )
    result["import_to_baseline_ratio"] = round(ratio, 3)
    result["load_average_1m_per_round"] = loads
    return result


def peak_rss(uri: str, rows: int, work_dir: Path, dry_run: bool) -> dict[str, Any]:
    """Peak RSS of a child process importing ``rows`` rows into a fresh database (``dry_run``:
    read, validated, matched and planned, not written)."""
    path = work_dir / f"rss-{rows}.csv"
    write_file(path, rows)
    code = (
        "import asyncio, resource, sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from app.service import CustomerModuleService\n"
        "async def main():\n"
        f"    s = await CustomerModuleService.connect({uri!r}, database='rss_{rows}')\n"
        f"    with open({str(path)!r}, 'rb') as f:\n"
        f"        t = time.perf_counter(); r = await s.import_customers(f, dry_run={dry_run})\n"
        "    await s.close(); return r.rows, time.perf_counter() - t\n"
        "rows, secs = asyncio.run(main())\n"
        "print(rows, round(secs, 1), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    before = load()
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    done, seconds, kib = out.stdout.split()
    path.unlink()
    return {"rows": int(done), "dry_run": dry_run, "seconds": float(seconds),
            "peak_rss_mib": round(int(kib) / 1024, 1), "load_before": before,
            "load_after": load()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rss-rows", type=int, default=0, help="0 skips the RSS measurement")
    parser.add_argument("--rss-dry-run", action="store_true", help="RSS of dry runs (faster)")
    parser.add_argument("--skip-rate", action="store_true", help="only the RSS measurement")
    parser.add_argument("--rounds", type=int, default=5, help="slices baseline/import alternate")
    parser.add_argument("--no-indexer", action="store_true", help="no sync indexer beside them")
    args = parser.parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    result: dict[str, Any] = {"rows": args.rows}
    with EmbeddedServer(work_dir / "db", sync_on_commit=True) as server:
        if not args.skip_rate:
            slices = write_slices(work_dir, args.rows, args.rounds)
            result["file_bytes"] = sum(p.stat().st_size for p in slices)
            result["indexer"] = not args.no_indexer
            result.update(asyncio.run(alternate(server.uri, slices, work_dir, not args.no_indexer)))
        if args.rss_rows:
            result["peak_rss"] = [
                peak_rss(server.uri, n, work_dir, args.rss_dry_run)
                for n in (args.rss_rows // 10, args.rss_rows)
            ]
    result["this_process_peak_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
