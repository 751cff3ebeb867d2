"""Measure what a database outage and a shutdown cost a running ``customers serve``.

    python scripts/bench_outage.py [--rounds 3] [--root /path/to/another/checkout]

Starts ``customers serve`` (port 0, a fresh temporary data dir) from the checkout at ``--root``
(default: this one), so the same figures can be taken of another version (the baseline):

1. **Embedded MongoDB killed** (``--rounds`` times): 4 threads create customers over HTTP; the
   embedded server is SIGKILLed; recovery = seconds from the kill to the next 200. Then the
   acknowledged writes missing from MongoDB are counted.
2. **Shutdown**: SIGTERM with a 2 s request in flight: seconds to exit, exit status, and the
   in-flight request's status.
3. **External MongoDB down** (``MONGODB_URI``): ``--probes`` requests (list, read, create)
   while it is down: status and latency; then seconds from its restart to the next 200.

Prints one JSON object. Figures are wall-clock on this machine; run it on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymongo import MongoClient

from app.embedded import EmbeddedServer, launch, probes
from tests.api.serve_support import (
    ROOT,
    Serve,
    WriteLoad,
    admin_headers,
    first_index_built,
    kill_embedded_mongodb,
    serve_env,
)

GIVE_UP = 45.0  # seconds after which a round counts as "never recovered"
SLOW = ("tests.api.slow_routes",)


def free_port() -> int:
    """A free port (older versions print the port they were given, so 0 will not do)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ms(values: list[float]) -> dict[str, float]:
    """Median, p99 and max of ``values`` (seconds), in milliseconds."""
    if not values:
        return {}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(p99 * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def stored_ids(data: Path) -> set[str]:
    """Customer ids in the embedded MongoDB of ``data`` (restarting it here if it is down)."""
    state_file = data / "run" / "mongodb.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else None
    if state and probes.pid_alive(state["pid"]):
        with MongoClient(probes.loopback_uri(state["port"])) as client:
            return set(client.customers.customers.distinct("_id"))
    with EmbeddedServer(data, supervise=False) as server, MongoClient(server.uri) as client:
        return set(client.customers.customers.distinct("_id"))


def embedded_kills(root: Path, rounds: int, base: Path) -> dict[str, Any]:
    """Phase 1 and 2: kill the embedded server under a write load; then SIGTERM."""
    data = base / "data"
    server = Serve(serve_env(data, root=root), blueprints=SLOW, port=free_port()).start()
    recoveries: list[float | None] = []
    try:
        first_index_built(data)
        with WriteLoad(server, timeout=GIVE_UP) as load:
            for _ in range(rounds):
                time.sleep(2)
                killed_at = time.monotonic()
                kill_embedded_mongodb(data)
                recovered = load.first_success_after(killed_at, timeout=GIVE_UP)
                recoveries.append(None if recovered is None else round(recovered, 2))
                if recovered is None:
                    break
            time.sleep(1)
        lost = set(load.acknowledged) - stored_ids(data)
        result: dict[str, Any] = {
            "recovery_s": recoveries,
            "acknowledged_writes": len(load.acknowledged),
            "acknowledged_lost": len(lost),
            "refused": dict(Counter(reply.status for reply in load.refused)),
            "write_latency": ms(load.seconds),
        }
        result["shutdown"] = shutdown(server)
    finally:
        server.close()
    return result


def shutdown(server: Serve) -> dict[str, Any]:
    """SIGTERM with a 2 s request in flight: how long the exit takes, and what it answered."""
    replies: list[Any] = []
    thread = threading.Thread(
        target=lambda: replies.append(server.request("GET", "/test/slow?seconds=2", timeout=60))
    )
    thread.start()
    time.sleep(0.5)
    signalled = time.monotonic()
    server.signal(signal.SIGTERM)
    try:
        status = server.wait(60)
    except Exception:
        status = None
    thread.join(60)
    return {
        "exit_s": round(time.monotonic() - signalled, 2),
        "exit_status": status,
        "in_flight_status": replies[0].status if replies else None,
    }


def external_outage(root: Path, probes: int, base: Path) -> dict[str, Any]:
    """Phase 3: an external MongoDB goes down and comes back."""
    mongo = EmbeddedServer(base / "mongo", supervise=False).start()
    env = serve_env(base / "data", root=root, MONGODB_URI=mongo.uri, CUSTOMERS_INDEXER="off")
    server = Serve(env, port=free_port()).start()
    back: EmbeddedServer | None = None
    headers = admin_headers()
    try:
        created = server.request("POST", "/admin/customers", {"email": "e@x.io"}, headers)
        customer = created.body["customer"]["id"]
        assert mongo.pid is not None
        os.kill(mongo.pid, signal.SIGKILL)
        launch.wait_gone(mongo.pid, None, None, 10)
        calls = [
            ("GET", "/admin/customers?limit=5", None),
            ("GET", f"/admin/customers/{customer}", None),
            ("POST", "/admin/customers", {"email": "during@x.io"}),
        ]
        replies = [
            server.request(*calls[i % len(calls)], headers, timeout=GIVE_UP) for i in range(probes)
        ]
        back = EmbeddedServer(base / "mongo", supervise=False).start()
        restarted = time.monotonic()
        recovery = None
        while time.monotonic() - restarted < GIVE_UP:
            if server.request("GET", f"/admin/customers/{customer}", None, headers).status == 200:
                recovery = round(time.monotonic() - restarted, 2)
                break
            time.sleep(0.1)
        return {
            "statuses_while_down": dict(Counter(r.status for r in replies)),
            "latency_while_down": ms([r.seconds for r in replies]),
            "retry_after": sorted({r.headers.get("Retry-After") for r in replies if r.headers}),
            "recovery_after_restart_s": recovery,
        }
    finally:
        server.close()
        mongo.stop()
        if back is not None:
            back.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="Kills of the embedded server.")
    parser.add_argument("--probes", type=int, default=12, help="Requests while MongoDB is down.")
    parser.add_argument("--root", type=Path, default=ROOT, help="Checkout whose serve to run.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-outage-") as tmp:
        result = {
            "root": str(args.root),
            "embedded_kill": embedded_kills(args.root, args.rounds, Path(tmp) / "embedded"),
            "external_down": external_outage(args.root, args.probes, Path(tmp) / "external"),
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
