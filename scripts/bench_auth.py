"""Benchmark what registration identities and rate limits cost; prints one JSON object.

    python scripts/bench_auth.py --samples 500

On a fresh embedded server (``--sync-on-commit``, as ``customers serve`` runs it), or
MONGODB_URI, each figure is measured against a baseline in the same run, their calls
interleaved so the shared machine's noise falls on both:

- ``register``: ``create_customer_account`` (customer + identity link in one transaction)
  against ``create_customers`` with ``has_account`` (the single insert registration was before);
- ``soft_delete``: ``soft_delete_customers`` of a registered customer (its ``update_many``, then
  the unlink) and of a guest (the ``update_many`` and a look for links), the look alone, and
  ``soft_delete_customer_groups`` (one ``update_many`` on another collection, the shape the
  customer soft delete had before);
- over HTTP (Flask test client, no network): an admin ``GET /admin/customers?limit=1`` with a
  valid key, and one with a wrong key (401), each on an app with rate limits on (set so high
  that they never refuse: the cost of counting) against an app with them off.

Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_service import percentiles

from app import create_app
from app.config import Settings
from app.credentials import ApiKeys
from app.embedded import EmbeddedServer
from app.service import CustomerModuleService, identities
from app.webapp import close_app, run, runtime_of


def compare(samples: dict[str, list[float]], new: str, old: str) -> dict[str, Any]:
    """Percentiles of both and the ratio of their medians."""
    result: dict[str, Any] = {name: percentiles(values) for name, values in samples.items()}
    result["p50_ratio"] = round(result[new]["p50_ms"] / result[old]["p50_ms"], 2)
    return result


async def interleaved(
    times: int, calls: dict[str, Callable[[int], Awaitable[Any]]]
) -> dict[str, list[float]]:
    """Time each call ``times`` times, alternating between them."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(times):
        for name, call in calls.items():
            start = time.perf_counter()
            await call(i)
            samples[name].append(time.perf_counter() - start)
    return samples


async def bench_service(uri: str, database: str, samples: int) -> dict[str, Any]:
    service = await CustomerModuleService.connect(uri, database=database)
    accounts: list[str] = []

    async def register(i: int) -> None:
        customer = await service.create_customer_account({"email": f"new{i}@x.com"}, f"authid_{i}")
        accounts.append(str(customer.id))

    registered = await interleaved(
        samples,
        {
            "create_customer_account": register,
            "create_customers_has_account": lambda i: service.create_customers(
                {"email": f"old{i}@x.com", "has_account": True}
            ),
        },
    )
    made = await service.create_customer_groups([{"name": f"g{i}"} for i in range(samples)])
    groups = [group.id for group in made]
    guests = [c.id for c in await service.create_customers([{} for _ in range(samples)])]
    deleted = await interleaved(
        samples,
        {
            "soft_delete_customers": lambda i: service.soft_delete_customers([accounts[i]]),
            "soft_delete_guest": lambda i: service.soft_delete_customers([guests[i]]),
            "unlink_lookup_of_a_guest": lambda i: identities.unlink_customers(
                service.store, [guests[i]]
            ),
            "soft_delete_customer_groups": lambda i: service.soft_delete_customer_groups(
                [groups[i]]
            ),
        },
    )
    await service.store.client.drop_database(database)
    await service.close()
    return {
        "register": compare(registered, "create_customer_account", "create_customers_has_account"),
        "soft_delete": {
            **compare(deleted, "soft_delete_customers", "soft_delete_customer_groups"),
            "guest_p50_ratio": compare(deleted, "soft_delete_guest", "soft_delete_customer_groups")[
                "p50_ratio"
            ],
        },
    }


def bench_http(uri: str, database: str, samples: int) -> dict[str, Any]:
    base = Settings(
        mongodb_uri=uri,
        mongodb_database=database,
        jwt_secret="bench-secret-long-enough-for-hs256-0123456789",
        indexer_enabled=False,
    )
    limited = create_app(
        dataclasses.replace(
            base, rate_limit_auth="1000000000/minute", rate_limit_register="1000000000/minute"
        ),
        search=False,
    )
    unlimited = create_app(
        dataclasses.replace(base, rate_limit_auth="off", rate_limit_register="off"), search=False
    )
    try:
        database_handle = runtime_of(limited).service.database
        _, secret = run(ApiKeys(database_handle).create("bench"), app=limited)
        good = {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}
        bad = {"Authorization": "Bearer sk_" + "0" * 64}
        clients = {"limits_on": limited.test_client(), "limits_off": unlimited.test_client()}

        def measure(headers: dict[str, str], status: int) -> dict[str, list[float]]:
            out: dict[str, list[float]] = {name: [] for name in clients}
            for _ in range(samples):
                for name, client in clients.items():
                    start = time.perf_counter()
                    response = client.get("/admin/customers?limit=1", headers=headers)
                    out[name].append(time.perf_counter() - start)
                    assert response.status_code == status, response.status_code
            return out

        return {
            "valid_key": compare(measure(good, 200), "limits_on", "limits_off"),
            "wrong_key_401": compare(measure(bad, 401), "limits_on", "limits_off"),
        }
    finally:
        close_app(limited)
        close_app(unlimited)


def bench(uri: str, samples: int) -> dict[str, Any]:
    database = f"bench_auth_{uuid.uuid4().hex[:8]}"
    result = {
        "samples": samples,
        **asyncio.run(bench_service(uri, database, samples)),
        "http": bench_http(uri, database, samples),
        "load_average_1m": os.getloadavg()[0],
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args(argv)
    uri = os.environ.get("MONGODB_URI")
    if uri:
        print(json.dumps(bench(uri, args.samples), indent=2))
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="bench-auth-") as data_dir,
        EmbeddedServer(data_dir, sync_on_commit=True) as server,
    ):
        result = bench(server.uri, args.samples)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
