"""Seed a reusable data directory for the export benchmark (run once; later runs top it up).

    python scripts/seed_export_data.py /tmp/export-bench --customers 1000000

Creates 20 customer groups and N customers, stored as ``create_customers`` stores them, in
batches of 1,000 (``seed_data``'s deterministic fake customers, 1-2 addresses each), a tenth of
them members of one group, in the embedded server of ``DIR/mongodb``. A directory that already
holds customers is topped up to N, so the 100,000 run's data is the start of the 1,000,000
run's.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_data import fake_customers

from app.embedded import EmbeddedServer
from app.entities import MEMBERSHIP
from app.entities.values import utcnow
from app.input_checks import validate
from app.service import CustomerModuleService
from app.service.customers import new_customer_doc
from app.service.documents import new_document
from app.service.inputs import CreateCustomer

GROUPS = 20
BATCH = 1_000
MEMBER_EVERY = 10  # every 10th customer joins one group


async def seed(uri: str, customers: int) -> int:
    """Top the database up to ``customers`` customers; return how many were added."""
    service = await CustomerModuleService.connect(uri, "customers")
    try:
        groups = await service.list_customer_groups({}, {"take": GROUPS})
        if not groups:
            groups = await service.create_customer_groups(
                [{"name": f"Group {n:02d}"} for n in range(GROUPS)]
            )
        have = await service.store.customers.count_documents({})
        started, added = time.monotonic(), 0
        batch: list[dict[str, object]] = []
        for customer in fake_customers(customers - have, seed=7, start=have):
            batch.append(customer)
            if len(batch) == BATCH:
                added += await _insert(service, batch, [g.id for g in groups])
                batch = []
                rate = added / (time.monotonic() - started)
                print(f"\r{have + added:,} customers ({rate:,.0f}/s)", end="", flush=True)
        if batch:
            added += await _insert(service, batch, [g.id for g in groups])
        print()
        return added
    finally:
        await service.close()


async def _insert(
    service: CustomerModuleService, batch: list[dict[str, object]], groups: list[str]
) -> int:
    """Insert a batch as ``create_customers`` would store it, memberships included, in one
    plain ``insert_many`` (a transaction and one write per membership make seeding a million
    customers take hours on the embedded server)."""
    now = utcnow()
    docs = [new_customer_doc(validate(CreateCustomer, item), now) for item in batch]
    for n, doc in enumerate(docs):
        if n % MEMBER_EVERY == 0:
            link = {"customer_id": doc["_id"], "customer_group_id": groups[n % len(groups)]}
            doc["groups"] = [new_document(MEMBERSHIP, link, now)]
    await service.store.customers.insert_many(docs, ordered=False)
    return len(docs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args(argv)
    with EmbeddedServer(args.data_dir, sync_on_commit=False) as server:
        added = asyncio.run(seed(server.uri, args.customers))
    print(f"added {added:,} customers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
