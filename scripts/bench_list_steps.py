"""Where the milliseconds of a customer list page go, over HTTP, before and after a change.

    git worktree add /tmp/list-before main
    python scripts/bench_list_steps.py --customers 100000 --tree /tmp/list-before --tree .

Seeds N customers on an embedded server in ``--data-dir`` (default ``/tmp/list-<N>``; reused
when it holds them: :func:`bench_search_stack.seed`, every 10th customer in one of 20 groups).
Each ``--tree`` (a checkout of this repository) runs ``customers serve`` on that database with a
search index of its own (``<data-dir>/serve-<tree hash>``, and an indexer name of its own: the
trees' index schemas may differ), waits until it is ready, and one client asks each list path
``--repeat`` times in turn, one request at a time; with several trees every round runs each tree
once, so a busy machine slows them alike. Reported per tree and path: the client's p50/p99 (ms)
and, where the tree sends ``Server-Timing``, p50/p99 of each step, with ``http`` = the client's
time minus the app's (HTTP server, WSGI, the connection). The last tree is compared with the
first (``ratio_p50``: first / last). With ``--fallback``, the MongoDB answers of the plain and
the group page (index detached) are timed on the same data in this process. Prints one JSON
object, with the load average before and after. Run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import pymongo  # noqa: E402
from bench_search_stack import DATABASE, seed  # noqa: E402
from benchlib.stats import percentile  # noqa: E402

from app.embedded import EmbeddedServer  # noqa: E402
from app.service import CustomerModuleService  # noqa: E402


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 3), "p99": round(percentile(values, 0.99), 3)}


def server_timing(header: str | None) -> dict[str, float]:
    """``auth;dur=0.1, app;dur=2.5`` → ``{"auth": 0.1, "app": 2.5}``."""
    steps: dict[str, float] = {}
    for part in (header or "").split(","):
        name, _, rest = part.strip().partition(";dur=")
        if name and rest:
            steps[name] = float(rest)
    return steps


class Served:
    """``customers serve`` of one tree on the benchmark's database."""

    def __init__(self, tree: Path, uri: str, data_dir: Path, port: int) -> None:
        self.tree = tree
        self.uri = uri
        self.port = port
        tag = f"{zlib.crc32(str(tree).encode()):08x}"
        index_dir = data_dir / f"serve-{tag}"
        index_dir.mkdir(exist_ok=True)
        self.name = f"bench{tag}"
        self.env = {
            **os.environ,
            "MONGODB_URI": uri,
            "MONGODB_DATABASE": DATABASE,
            "CUSTOMERS_DATA_DIR": str(index_dir),
            "ELASTICSEARCH_INDEX": self.name,  # the indexer's name: its own state, lease
            "CUSTOMERS_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(tree),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            env=self.env, cwd=self.tree, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    def __enter__(self) -> Served:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
            env=self.env,
            cwd=self.tree,
        )
        deadline = time.monotonic() + 900  # a first start builds the index
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("GET", "/health/ready")
                if conn.getresponse().status == 200 and self._built():
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{self.tree}: not ready")

    def _built(self) -> bool:
        """Whether the indexer's state says no reindex runs (it reads MongoDB throughout)."""
        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(self.uri) as client:
            state = client[DATABASE]["indexer_state"].find_one({"_id": self.name})
        return state is not None and not (state.get("reindex") or state.get("reindex_required"))

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=60)


def paths(group: str) -> dict[str, str]:
    q = urllib.parse.quote
    return {
        "plain": "/admin/customers",
        "group": f"/admin/customers?groups[]={group}",
        "q one word": f"/admin/customers?q={q('smith')}",
        "q two words": f"/admin/customers?q={q('anna smith')}",
        "q email fragment": f"/admin/customers?q={q('acme.io')}",
        "q with group": f"/admin/customers?q={q('smith')}&groups[]={group}",
    }


def measure_tree(
    served: Served, secret: str, group: str, repeat: int
) -> dict[str, dict[str, list[float]]]:
    """Per path: the client's ms and each Server-Timing step's ms, ``repeat`` samples each."""
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    headers = {"Authorization": f"Bearer {secret}"}

    def get(path: str) -> tuple[float, dict[str, float], bytes]:
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        took = (time.perf_counter() - start) * 1000
        assert response.status == 200, (path, response.status, body[:200])
        return took, server_timing(response.getheader("Server-Timing")), body

    out: dict[str, dict[str, list[float]]] = {}
    for name, path in paths(group).items():
        for _ in range(10):  # warm up
            get(path)
        samples: dict[str, list[float]] = {"client": []}
        for _ in range(repeat):
            took, steps, _ = get(path)
            samples["client"].append(took)
            for step, ms in steps.items():
                samples.setdefault(step, []).append(ms)
            if "app" in steps:
                samples.setdefault("http", []).append(took - steps["app"])
        out[name] = samples
    return out


async def fallback(uri: str, repeat: int) -> dict[str, Any]:
    """The plain and the group page (with their counts) answered by MongoDB, index detached,
    with no budget (to see what they cost), and their parts: the page's find, the count."""
    service = await CustomerModuleService.connect(uri, database=DATABASE, search_budget=3600)
    customers = service.store.customers
    try:
        group = (await service.list_customer_groups({}, {"take": 1}))[0].id
        live = {"deleted_at": None}
        in_group = {"groups.customer_group_id": {"$in": [group]}, "deleted_at": None}
        reads = {
            "plain page + count": lambda: service.list_and_count_customers({}, {"take": 50}),
            "plain find (50)": lambda: customers.find(live).sort("_id", 1).limit(50).to_list(),
            "plain count": lambda: customers.count_documents(live),
            "group page + count": lambda: service.list_and_count_customers(
                {"groups": group}, {"take": 50}
            ),
            "group find (50)": lambda: customers.find(in_group).sort("_id", 1).limit(50).to_list(),
            "group count": lambda: customers.count_documents(in_group),
        }
        out: dict[str, Any] = {}
        for name, read in reads.items():
            samples = []
            for _ in range(repeat):
                start = time.perf_counter()
                await read()
                samples.append((time.perf_counter() - start) * 1000)
            out[name] = {**summary(samples), "load": os.getloadavg()[0]}
            print(f"  fallback {name}: {out[name]}", file=sys.stderr, flush=True)
        return out
    finally:
        await service.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--tree", type=Path, action="append", default=None)
    parser.add_argument("--repeat", type=int, default=200, help="requests per path and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--fallback", type=int, default=0, help="MongoDB page reads (0: none)")
    args = parser.parse_args(argv)
    data_dir = (args.data_dir or Path(f"/tmp/list-{args.customers}")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    trees = [t.resolve() for t in args.tree or [ROOT]]
    result: dict[str, Any] = {"customers": args.customers, "load_before": os.getloadavg()}
    with EmbeddedServer(data_dir, sync_on_commit=True) as server:

        async def seeded() -> dict[str, Any]:
            service = await CustomerModuleService.connect(server.uri, database=DATABASE)
            try:
                return await seed(service, args.customers)
            finally:
                await service.close()

        result["seed"] = asyncio.run(seeded())
        if args.fallback:
            result["fallback_mongodb_ms"] = asyncio.run(fallback(server.uri, args.fallback))
        secret = next(
            word
            for word in Served(trees[-1], server.uri, data_dir, 0)
            .cli("api-key", "create", "--title", "bench")
            .split()
            if word.startswith("sk_")
        )
        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(server.uri) as client:
            first = client[DATABASE]["customer_groups"].find_one({}, sort=[("_id", 1)])
            assert first is not None, "no group was seeded"
            group = first["_id"]
        runs: dict[str, dict[str, dict[str, list[float]]]] = {str(t): {} for t in trees}
        for _ in range(args.rounds):
            for i, tree in enumerate(trees):
                with Served(tree, server.uri, data_dir, 9600 + i) as served:
                    measured = measure_tree(served, secret, group, args.repeat)
                    for path, samples in measured.items():
                        merged = runs[str(tree)].setdefault(path, {})
                        for step, values in samples.items():
                            merged.setdefault(step, []).extend(values)
                print(f"  round done: {tree}", file=sys.stderr, flush=True)
    result["trees"] = {
        tree: {path: {step: summary(v) for step, v in s.items()} for path, s in per_path.items()}
        for tree, per_path in runs.items()
    }
    if len(trees) > 1:
        first, last = result["trees"][str(trees[0])], result["trees"][str(trees[-1])]
        result["ratio_p50"] = {
            path: round(first[path]["client"]["p50"] / last[path]["client"]["p50"], 2)
            for path in last
        }
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
