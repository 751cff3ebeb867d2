"""Side by side with Medusa: its peer benchmark, then ours on the same workload, one table.

    python scripts/bench_peer.py --customers 100000 [--peer-dir /tmp/peer-medusa] [--json out.json]
    python scripts/bench_peer.py --customers 1000000 --no-peer --data-dir /tmp/peer-1m

1. Medusa (unless ``--no-peer``): copies ``shared/peers/medusa`` into ``--peer-dir`` (reused
   between runs; a fresh temp dir by default), runs its ``setup.sh`` (PostgreSQL 15 on
   127.0.0.1:55432, npm packages, migrations) and ``node bench.js N``, then stops PostgreSQL.
2. Ours on the embedded default in ``--data-dir`` (a fresh temp dir by default; a dir that
   already holds N customers is reused and not seeded again), or on ``MONGODB_URI``: create
   in batches of 1,000 (timed only when this run seeds), then, through the service in this
   process, the peer's groups and links, retrieves and updates.
3. ``customers reindex`` (the CLI, in a process of its own): a full reindex's docs/s.
4. ``customers serve`` on that data: list pages over HTTP, one request at a time (``q`` with the
   peer's four kinds of term, 20 each, one untimed pass then ``--q-repeat`` timed ones; plain
   and group-filtered pages), then the sync lag: writes at ``--write-rate``/s for
   ``--lag-seconds``, each 10th timed from its acknowledgement until a ``q`` list finds it.

Prints the table (metric, ours, Medusa, ratio > 1 when we are better, the issue's goal and
whether it is met), what differs between the two sides, the load average around each phase,
and one JSON object with everything (to ``--json FILE`` instead of stdout). Run by hand, never
in CI; on a shared machine compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from benchlib.floor import server_floor  # noqa: E402
from benchlib.http import ServedApp, served_app  # noqa: E402
from benchlib.medusa import find_peer_source, run_peer  # noqa: E402
from benchlib.peer_report import DIFFERENCES, format_table, rows  # noqa: E402
from benchlib.stats import load_average  # noqa: E402
from benchlib.workload import (  # noqa: E402
    create_in_batches,
    http_lists,
    http_sync_lag,
    link_retrieve_update,
    pick_terms,
    sample_rows,
)

from app.embedded import EmbeddedServer  # noqa: E402
from app.service import CustomerModuleService  # noqa: E402

SEED = 42
FLOOR_BATCHES = 5  # bare insert_many batches of 1,000 (benchlib.floor; dropping them is slow)
PROBE_CONCURRENCY = 32  # searches `customers serve` runs at once here (its default is 4)


class Phases:
    """Wall time and the load average before and after each phase of the run."""

    def __init__(self) -> None:
        self.record: dict[str, dict[str, Any]] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        print(f"== {name} (load {load_average()})", file=sys.stderr, flush=True)
        before, start = load_average(), time.perf_counter()
        yield
        self.record[name] = {
            "wall_s": round(time.perf_counter() - start, 1),
            "load_before": before,
            "load_after": load_average(),
        }


async def service_phases(
    uri: str, database: str, args: argparse.Namespace, phase: Phases
) -> dict[str, Any]:
    """Seed (or reuse) the data, then the peer's write and retrieve phases on the service."""
    service = await CustomerModuleService.connect(uri, database=database)
    try:
        result: dict[str, Any] = {}
        existing = await service.store.client[database]["customers"].estimated_document_count()
        if existing == 0:
            with phase("ours: create"):
                result["create"] = await create_in_batches(service, args.customers)
        elif existing < args.customers:
            raise SystemExit(f"the data holds {existing:,} customers, not {args.customers:,}: "
                             "use a fresh --data-dir")  # fmt: skip
        else:
            result["reused_customers"] = existing
        ids, sample = await sample_rows(uri, database, 20_000)
        result["terms"] = pick_terms(sample, args.q_terms, SEED)
        with phase("ours: links, retrieve, update"):
            result["writes"] = await link_retrieve_update(
                service, ids, links=args.links, retrieves=args.retrieves, seed=SEED
            )
        with phase("ours: the server's floor"):
            result["floor"] = await server_floor(
                service.store.client[database], ids, result["writes"]["group_ids"],
                batches=FLOOR_BATCHES, calls=args.links,
            )  # fmt: skip
        result["ids"] = ids
        return result
    finally:
        await service.close()


def reindex(env: dict[str, str]) -> dict[str, Any]:
    """``customers reindex`` end to end (process start included), and the rate it reports."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "reindex"], env={**os.environ, **env}, cwd=ROOT,
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    elapsed = time.perf_counter() - start
    # "reindexed N customers into G (R docs/s copy; T s in all)"; the copy holds N documents
    said = re.search(r"reindexed (\d+) customers .*\(([\d.,]+) docs/s copy", out)
    if said is None:
        return {"seconds": round(elapsed, 1), "output": out[-500:]}
    copied = int(said.group(1))
    return {
        "seconds": round(elapsed, 1),
        "documents": copied,
        "docs_per_s": round(copied / elapsed),
        "copy_docs_per_s_reported": float(said.group(2).replace(",", "")),
    }


async def http_phases(
    uri: str,
    database: str,
    app: ServedApp,
    ours: dict[str, Any],
    args: argparse.Namespace,
    phase: Phases,
) -> None:
    """Lists over HTTP, then the sync lag (writes here, probes over HTTP)."""
    pool = app.pool()
    service = await CustomerModuleService.connect(uri, database=database)
    try:
        with phase("ours: lists over HTTP"):
            ours["http_lists"] = await http_lists(
                pool, ours["terms"], ours["writes"]["group_ids"],
                repeat=args.q_repeat, pages=args.pages,
            )  # fmt: skip
        if args.lag_seconds > 0:
            with phase("ours: sync lag"):
                ours["sync_lag"] = await http_sync_lag(
                    service, pool, ours["ids"], rate=args.write_rate,
                    seconds=args.lag_seconds, seed=SEED,
                )  # fmt: skip
    finally:
        await pool.close()
        await service.close()


def run_ours(uri: str, data_dir: Path, args: argparse.Namespace, phase: Phases) -> dict[str, Any]:
    database = os.environ.get("MONGODB_DATABASE", "customers")
    env = {"MONGODB_URI": uri, "MONGODB_DATABASE": database, "CUSTOMERS_DATA_DIR": str(data_dir)}
    # The lag probes overlap (one per 10 writes, each until found); lists run one at a time.
    env["CUSTOMERS_SEARCH_CONCURRENCY"] = str(PROBE_CONCURRENCY)
    ours = asyncio.run(service_phases(uri, database, args, phase))
    if not args.no_reindex:
        with phase("ours: reindex"):
            ours["reindex"] = reindex(env)
    with served_app(env) as app:
        asyncio.run(http_phases(uri, database, app, ours, args, phase))
    ours["live_customers"] = len(ours.pop("ids"))
    return ours


def medusa(args: argparse.Namespace, phase: Phases) -> dict[str, Any] | None:
    if args.peer_json:
        return json.loads(args.peer_json.read_text())
    if args.no_peer:
        return None
    source = args.peer_source or find_peer_source(ROOT)
    if source is None:
        raise SystemExit("shared/peers/medusa not found above this checkout: pass --peer-source")
    workdir = args.peer_dir or Path(tempfile.mkdtemp(prefix="peer-medusa-"))
    with phase("medusa: setup.sh + bench.js"):
        return run_peer(source, workdir, args.peer_customers or args.customers)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=100_000, help="ours (and Medusa's) N")
    p.add_argument("--peer-customers", type=int, help="Medusa's N when it differs from ours")
    p.add_argument("--no-peer", action="store_true", help="ours only")
    p.add_argument("--peer-json", type=Path, help="a saved `node bench.js` output instead")
    p.add_argument("--peer-dir", type=Path, help="where the peer copy lives (reused)")
    p.add_argument("--peer-source", type=Path, help="default: shared/peers/medusa above here")
    p.add_argument("--data-dir", type=Path, help="ours (reused when it holds N customers)")
    p.add_argument("--q-terms", type=int, default=20, help="search terms per kind")
    p.add_argument("--q-repeat", type=int, default=3, help="timed passes over the terms")
    p.add_argument("--pages", type=int, default=200, help="plain and group pages timed")
    p.add_argument("--links", type=int, default=1000, help="single links and single updates")
    p.add_argument("--retrieves", type=int, default=500)
    p.add_argument("--write-rate", type=int, default=200, help="sync lag: writes per second")
    p.add_argument("--lag-seconds", type=float, default=60, help="0 skips the sync lag")
    p.add_argument("--no-reindex", action="store_true")
    p.add_argument("--json", type=Path, help="write the JSON object here instead of stdout")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    phase = Phases()
    report: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                              "params": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip
    report["medusa"] = medusa(args, phase)
    data_dir = (args.data_dir or Path(tempfile.mkdtemp(prefix="peer-ours-"))).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    uri = os.environ.get("MONGODB_URI")
    with contextlib.ExitStack() as stack:
        if not uri:
            uri = stack.enter_context(EmbeddedServer(data_dir, sync_on_commit=True)).uri
        report["ours"] = run_ours(uri, data_dir, args, phase)
    report["data_dir"] = str(data_dir)
    report["phases"] = phase.record
    report["differences"] = list(DIFFERENCES)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    peer_n = _get_n(report["medusa"])
    table = rows(report["ours"], report["medusa"], args.customers)
    report["table"] = [
        {"metric": r.metric, "ours": r.ours, "medusa": r.medusa, "ratio": r.ratio(),
         "goal": r.goal, "met": r.verdict(args.customers)}
        for r in table
    ]  # fmt: skip
    print(format_table(table, args.customers, peer_n))
    print("\nWhat differs:\n" + "\n".join(f"- {line}" for line in DIFFERENCES))
    print("\nPhases (wall s; load average 1/5/15 min before -> after):")
    for name, p in phase.record.items():
        print(f"- {name}: {p['wall_s']} s; {p['load_before']} -> {p['load_after']}")
    print(f"Total: {report['wall_s']} s")
    text = json.dumps(report, indent=2, default=str)
    if args.json:
        args.json.write_text(text + "\n")
    else:
        print(text)
    return 0


def _get_n(medusa: dict[str, Any] | None) -> int | None:
    return (medusa or {}).get("params", {}).get("N")


if __name__ == "__main__":
    raise SystemExit(main())
