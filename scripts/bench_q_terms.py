"""Benchmark the ``q`` terms: their size, their cost on the create path, and the migration.

    python scripts/bench_q_terms.py --customers 20000

On a throw-away embedded SecantusDB: creates N customers (one address each, names from
several alphabets) through the service, then measures

* the stored size of ``q_terms`` per customer (median, p90) next to the document's;
* deriving them (``app.service.documents.q_terms``) per customer, next to building the whole
  stored document (``new_customer_doc``) — the create path's Python cost;
* the start-up migration (``add_q_terms``) over all N, with every document's terms removed
  first, against a baseline measured in the same run: the same number of conditional
  ``UpdateOne`` by ``_id`` in unordered batches of the same size, setting a constant (the
  server's floor for writing N documents this way).

Prints one JSON object, with the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bson
from pymongo import UpdateOne

from app.embedded import EmbeddedServer
from app.entities import CUSTOMER
from app.entities.values import utcnow
from app.service import CustomerModuleService
from app.service.customers import new_customer_doc
from app.service.documents import q_terms
from app.service.inputs import CreateCustomer
from app.service.migrations import BATCH, Q_TERMS, add_q_terms

NAMES = [
    ("Adèle", "Bégot"), ("Amélie", "Ørsted-Émile"), ("John", "O'Brien"), ("Zoë", "Müller"),
    ("Νίκος", "Παπαδόπουλος"), ("Иван", "Горев"), ("Łukasz", "Wójcik"), ("Ann", "Lee"),
]  # fmt: skip


def _customer(i: int) -> dict[str, Any]:
    first, last = random.choice(NAMES)
    return {
        "email": f"user{i}@example.com",
        "first_name": first,
        "last_name": f"{last} {i % 97}",
        "company_name": "Acme Société" if i % 3 == 0 else None,
        "phone": f"+33 6 {i % 100:02d} {i % 1000:03d} {i % 10000:04d}",
        "addresses": [{"address_1": f"{i} rue de l'Église", "city": "Besançon"}],
    }


def _quantiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=10)
    return {"median": round(statistics.median(values), 2), "p90": round(cuts[-1], 2)}


def _per_call_us(fn: Any, items: list[Any], rounds: int = 5) -> float:
    """Median over ``rounds`` of the mean microseconds ``fn`` takes per item."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for item in items:
            fn(item)
        times.append((time.perf_counter() - started) / len(items) * 1e6)
    return round(statistics.median(times), 2)


async def _remove_terms(service: CustomerModuleService) -> None:
    database = service.store.database
    await database["migrations"].delete_many({})
    await service.store.customers.update_many(
        {}, {"$unset": {"q_terms": "", "addresses.$[].q_terms": ""}}
    )


async def _baseline(service: CustomerModuleService, ids: list[str]) -> float:
    """Seconds for the same writes without deriving anything: a constant by ``_id``."""
    started = time.perf_counter()
    for at in range(0, len(ids), BATCH):
        updates = [UpdateOne({"_id": i}, {"$set": {"bench": 1}}) for i in ids[at : at + BATCH]]
        await service.store.customers.bulk_write(updates, ordered=False)
    return time.perf_counter() - started


async def main(count: int) -> dict[str, Any]:
    random.seed(7)
    out: dict[str, Any] = {"customers": count, "load_before": os.getloadavg()}
    with EmbeddedServer.ephemeral() as server:
        service = await CustomerModuleService.connect(server.uri, "bench_q_terms")
        try:
            for at in range(0, count, 1000):
                batch = [_customer(i) for i in range(at, min(at + 1000, count))]
                await service.create_customers(batch)
            docs = await service.store.customers.find({}).to_list()
            ids = [doc["_id"] for doc in docs]
            out["q_terms_bytes"] = _quantiles(
                [len(bson.encode({"t": d["q_terms"]})) - 5.0 for d in docs]
            )
            out["address_q_terms_bytes"] = _quantiles(
                [len(bson.encode({"t": d["addresses"][0]["q_terms"]})) - 5.0 for d in docs]
            )
            out["document_bytes"] = _quantiles([float(len(bson.encode(d))) for d in docs])
            inputs = [CreateCustomer(**_customer(i)) for i in range(2000)]
            now = utcnow()
            out["derive_us"] = _per_call_us(lambda d: q_terms(CUSTOMER, d), docs[:2000])
            out["new_customer_doc_us"] = _per_call_us(lambda c: new_customer_doc(c, now), inputs)
            await _remove_terms(service)
            started = time.perf_counter()
            migrated = await add_q_terms(service.store)
            seconds = time.perf_counter() - started
            baseline = await _baseline(service, ids)
            again = time.perf_counter()
            assert await add_q_terms(service.store) == 0
            done = await service.store.database["migrations"].find_one({"_id": Q_TERMS})
            out["migration"] = {
                "documents": migrated,
                "seconds": round(seconds, 2),
                "docs_per_s": round(migrated / seconds),
                "baseline_seconds": round(baseline, 2),
                "ratio_to_baseline": round(seconds / baseline, 2),
                "when_done_ms": round((time.perf_counter() - again) * 1000, 2),
                "done": done is not None and done.get("done_at") is not None,
            }
        finally:
            await service.close()
    out["load_after"] = os.getloadavg()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.customers)), indent=2))
