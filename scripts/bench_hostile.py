"""Benchmark hostile search load: does ``/health`` keep answering, does every search end in time?

    python scripts/bench_hostile.py --customers 100000 [--data-dir /tmp/bench-hostile-100k]

1. Seeds N customers (``bench_search_stack.seed``: deterministic fake data, 20 groups) on the
   embedded server of ``--data-dir`` (reused when it already holds them), then plants hostile
   *stored* values the way they reach a real database: ``--hostile-stored`` customers whose
   names are ``MAX_TEXT_CHARS`` of one letter (within today's input limits) and one legacy
   customer with a 1 MB email (stored before the limits existed: written raw).
2. ``cpu``: each hostile query once through the service in this process (the app as ``serve``
   builds it, index attached): CPU seconds of the process (all threads) and wall time, outcome
   (``ok``, or the error type: ``invalid_data`` for input over the limits, ``unexpected_state``
   for the budget or admission control).
3. ``http``: ``customers serve`` on the same data; ``/health`` polled alone for
   ``--baseline-seconds`` (the baseline), then again while ``--clients`` clients send the
   hostile requests round-robin for ``--seconds``: ``/health`` p50/p99/max, the slowest hostile
   request, status counts.

``--phases cpu`` or ``--phases http`` runs one of them. ``--queries legacy`` adds the findings'
over-limit queries (1,000-character ``q``, 5,000 words...) to the ``cpu`` phase. Prints one JSON
object. The machine is shared: compare figures within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import re
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_search_stack import DATABASE, seed  # noqa: E402
from benchlib.http import Connection  # noqa: E402
from benchlib.stats import percentile  # noqa: E402

from app.config import Settings  # noqa: E402
from app.embedded import EmbeddedServer  # noqa: E402
from app.errors import CustomerModuleError  # noqa: E402
from app.limits import MAX_Q_CHARS, MAX_Q_WORDS, MAX_TEXT_CHARS  # noqa: E402

HOSTILE_EMAIL_CHARS = 1_000_000


# -- the hostile queries -----------------------------------------------------------------------
def _words(rng: random.Random, count: int, size: int) -> str:
    return " ".join("".join(rng.choices(string.ascii_lowercase, k=size)) for _ in range(count))


def hostile_queries(*, legacy: bool = False) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, kind, params): kind ``list`` is ``GET /admin/customers``, ``search`` the ranked
    lookup. Every ``q`` is as long and as many-worded as the limits allow (or, with ``legacy``,
    also the over-limit queries of the findings)."""
    rng = random.Random(7)
    word = MAX_Q_CHARS // MAX_Q_WORDS - 1  # 15: 32 words of 15 letters fill 511 characters
    many = _words(rng, MAX_Q_WORDS, word)
    same = " ".join(["a" * word] * MAX_Q_WORDS)
    long_word = "a" * MAX_Q_CHARS
    typos = _words(rng, MAX_Q_WORDS, word)
    out: list[tuple[str, str, dict[str, Any]]] = [
        ("list q: 32 random words", "list", {"q": many}),
        ("list q: 32 x 'aaa…' (15)", "list", {"q": same}),
        ("list q: one 512-char word", "list", {"q": long_word}),
        ("list q: 512 x '.'", "list", {"q": "." * MAX_Q_CHARS}),
        ("list q + order by email", "list", {"q": "a" * 8, "order": "-email"}),
        ("ranked: 32 typo words", "search", {"q": typos}),
        ("ranked: 32 x 'aaa…' (15)", "search", {"q": same}),
        ("ranked: one 512-char word", "search", {"q": long_word}),
        ("ranked: 32 words, last typed", "search", {"q": typos[:-1]}),
        ("list offset 2^31-1", "list", {"offset": 2**31 - 1}),
        ("list deep offset, order -email", "list", {"offset": 99_000, "order": "-email"}),
        ("list $like %a%a…", "list", {"email[$like]": "%a" * 24 + "%b"}),
        ("list $or q fallback", "list", {"$or[0][q]": many, "$or[1][q]": same}),
    ]
    if legacy:
        out += [
            ("legacy list q: 100 chars", "list", {"q": "a" * 100}),
            ("legacy list q: 1,000 chars", "list", {"q": "a" * 1000}),
            ("legacy ranked: 1,000 x 'a'", "search", {"q": "a" * 1000}),
            ("legacy ranked: 5,000 words", "search", {"q": _words(rng, 5000, 4)}),
        ]
    return out


def _path(kind: str, params: dict[str, Any]) -> str:
    base = "/admin/customers/search" if kind == "search" else "/admin/customers"
    return f"{base}?{urllib.parse.urlencode({'limit': 20, **params})}"


def _service_call(service: Any, kind: str, params: dict[str, Any]) -> Any:
    """The service call an HTTP request of ``_path`` makes (filters in Medusa's form)."""
    params = dict(params)
    config: dict[str, Any] = {"take": 20, "skip": params.pop("offset", 0)}
    order = params.pop("order", None)
    if order:
        config["order"] = {order.lstrip("-"): "DESC" if order.startswith("-") else "ASC"}
    filters: dict[str, Any] = {}
    for key, value in params.items():
        if key == "email[$like]":
            filters["email"] = {"$like": value}
        elif key.startswith("$or["):
            filters.setdefault("$or", []).append({"q": value})
        else:
            filters[key] = value
    if kind == "search":
        q = filters.pop("q")
        return service.search_customers(q, filters, {"take": 20})
    return service.list_and_count_customers(filters, config)


# -- data ----------------------------------------------------------------------------------------
async def plant_hostile(service: Any, count: int) -> dict[str, Any]:
    """Customers with stored values as long as the limits allow, and one legacy 1 MB email."""
    customers = service.store.customers
    if await customers.count_documents({"first_name": "a" * MAX_TEXT_CHARS}) < count:
        made = await service.create_customers(
            [{"email": f"hostile{i}@example.com"} for i in range(count)]
        )
        # raw writes: the values are within the limits, but written in one round trip each
        for i, customer in enumerate(made):
            letter = string.ascii_lowercase[i % 3]
            await customers.update_one(
                {"_id": customer.id},
                {
                    "$set": {
                        "first_name": "a" * MAX_TEXT_CHARS,
                        "last_name": letter * MAX_TEXT_CHARS,
                        "company_name": "a" * MAX_TEXT_CHARS,
                    },
                    "$inc": {"version": 1},
                },
            )
    legacy = "a" * HOSTILE_EMAIL_CHARS + "@example.com"
    if await customers.count_documents({"email": legacy}) == 0:
        made = await service.create_customers({"email": "legacy-hostile@example.com"})
        # written raw: a value stored before the input limits existed
        await customers.update_one(
            {"_id": made.id}, {"$set": {"email": legacy}, "$inc": {"version": 1}}
        )
    return {"hostile_stored": count, "legacy_email_chars": len(legacy)}


def prepare(uri: str, args: argparse.Namespace) -> dict[str, Any]:
    from app.service import CustomerModuleService

    async def work() -> dict[str, Any]:
        service = await CustomerModuleService.connect(uri, database=DATABASE)
        try:
            seeded = await seed(service, args.customers)
            planted = await plant_hostile(service, args.hostile_stored)
            return {"seed": seeded, **planted}
        finally:
            await service.close()

    return asyncio.run(work())


def settings_for(uri: str, data_dir: Path) -> Settings:
    env = {**os.environ, "MONGODB_URI": uri, "MONGODB_DATABASE": DATABASE}
    env["CUSTOMERS_DATA_DIR"] = str(data_dir)
    return Settings.from_env(env)


# -- phase: CPU per query through the service ----------------------------------------------------
def cpu_phase(uri: str, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    from app import create_app
    from app.webapp import close_app, run, runtime_of

    settings = settings_for(uri, data_dir)
    app = create_app(settings)
    try:
        indexer = runtime_of(app).indexer
        assert indexer is not None
        deadline = time.monotonic() + 900
        while not indexer.ready:  # a first start (or a new index schema) reindexes first
            if time.monotonic() > deadline:
                raise RuntimeError("the index did not get ready")
            time.sleep(0.5)
        run(indexer.wait_until_applied(60), app=app)
        service = runtime_of(app).service
        run(service.list_and_count_customers({"q": "warm"}, {"take": 1}), app=app)
        out: dict[str, Any] = {}
        for name, kind, params in hostile_queries(legacy=args.queries == "legacy"):
            if args.skip and re.search(args.skip, name):
                continue
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                run(_service_call(service, kind, params), app=app)
                outcome = "ok"
            except CustomerModuleError as exc:
                outcome = exc.type
            except Exception as exc:  # a benchmark reports, it does not stop
                outcome = type(exc).__name__
            out[name] = {
                "cpu_s": round(time.process_time() - cpu, 3),
                "wall_s": round(time.perf_counter() - wall, 3),
                "outcome": outcome,
            }
            print(f"cpu {name}: {out[name]}", file=sys.stderr, flush=True)
        return out
    finally:
        close_app(app)


# -- phase: hostile HTTP load against `customers serve` ------------------------------------------
def _stats(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
    }


async def poll_health(host: str, port: int, until: float, interval: float) -> list[float]:
    conn = Connection(host, port, {})
    samples: list[float] = []
    while time.monotonic() < until:
        started = time.perf_counter()
        status, _ = await asyncio.wait_for(conn.request("GET", "/health"), 30)
        samples.append(time.perf_counter() - started)
        if status != 200:
            samples[-1] = float("inf")
        await asyncio.sleep(interval)
    await conn.close()
    return samples


def _reason(body: bytes) -> str:
    """The error message of a response, numbers left out (so that equal reasons add up)."""
    try:
        message = str(json.loads(body).get("message", ""))
    except ValueError:
        message = body[:60].decode(errors="replace")
    return re.sub(r"[0-9.]+ s budget", "N s budget", message)[:80]


async def hostile_load(
    host: str, port: int, headers: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    paths = [
        (name, _path(kind, params))
        for name, kind, params in hostile_queries()
        if not (args.skip and re.search(args.skip, name))
    ]
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    slowest: dict[str, float] = {}
    latencies: list[float] = []
    until = time.monotonic() + args.seconds

    async def client(index: int) -> None:
        conn = Connection(host, port, headers)
        n = index
        while time.monotonic() < until:
            name, path = paths[n % len(paths)]
            n += 1
            started = time.perf_counter()
            try:
                status: int | str
                status, body = await asyncio.wait_for(conn.request("GET", path), 120)
            except (TimeoutError, OSError) as exc:
                status, body = type(exc).__name__, b""
                await conn.close()
            took = time.perf_counter() - started
            latencies.append(took)
            statuses[str(status)] += 1
            if status != 200:
                reasons[f"{status} {_reason(body)}"] += 1
            slowest[name] = max(slowest.get(name, 0.0), took)
        await conn.close()

    health = asyncio.create_task(poll_health(host, port, until, args.health_interval))
    await asyncio.gather(*(client(i) for i in range(args.clients)))
    health_samples = await health
    return {
        "health": _stats(health_samples),
        "hostile_requests": _stats(latencies),
        "statuses": dict(statuses),
        "refusals": dict(reasons.most_common()),
        "slowest_ms_by_query": {k: round(v * 1000, 1) for k, v in slowest.items()},
    }


def http_phase(uri: str, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "MONGODB_URI": uri, "MONGODB_DATABASE": DATABASE,
           "CUSTOMERS_DATA_DIR": str(data_dir), "CUSTOMERS_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    key = subprocess.run(
        [sys.executable, "-m", "app.cli", "api-key", "create", "--title", "bench-hostile"],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    secret = next(word for word in key.split() if word.startswith("sk_"))
    headers = {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}
    port = 9400 + random.Random().randint(0, 500)
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env=env, cwd=ROOT
    )
    host = "127.0.0.1"
    try:
        asyncio.run(_wait_until_served(host, port, headers))
        until = time.monotonic() + args.baseline_seconds
        baseline = asyncio.run(poll_health(host, port, until, args.health_interval))
        loaded = asyncio.run(hostile_load(host, port, headers, args))
        return {
            "health_baseline": _stats(baseline),
            **loaded,
            "server_alive": server.poll() is None,
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


async def _wait_until_served(host: str, port: int, headers: dict[str, str]) -> None:
    """Wait for /health, then for the index to serve a list (the first start reindexes)."""
    deadline = time.monotonic() + 900
    conn = Connection(host, port, headers)
    while True:
        try:
            status, _ = await conn.request("GET", "/admin/customers?q=warm&limit=1")
            if status == 200:
                break
        except OSError:
            await conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start serving")
        await asyncio.sleep(0.5)
    await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--hostile-stored", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--phases", nargs="*", default=["cpu", "http"])
    parser.add_argument("--queries", choices=["limits", "legacy"], default="limits")
    parser.add_argument("--skip", help="regex: leave out the queries whose name matches")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--health-interval", type=float, default=0.02)
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"customers": args.customers}
    with EmbeddedServer(data_dir, sync_on_commit=True) as server:
        result["data"] = prepare(server.uri, args)
        if "cpu" in args.phases:
            result["cpu"] = cpu_phase(server.uri, data_dir, args)
        if "http" in args.phases:
            result["http"] = http_phase(server.uri, data_dir, args)
    result["settings"] = {
        k: v
        for k, v in vars(settings_for("", data_dir)).items()
        if k in ("search_budget_seconds", "search_concurrency")
    }
    result["load_average_1m"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
