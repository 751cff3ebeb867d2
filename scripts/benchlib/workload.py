"""The peer benchmark's workload shape, run on our service and HTTP API.

Each function mirrors one phase of Medusa's ``bench.js`` (same counts, same kinds of search
terms) through our public interfaces only: ``CustomerModuleService`` methods in this process
(as ``bench.js`` calls Medusa's module service in its process) and the admin HTTP routes of a
running ``customers serve``. The one direct read, :func:`sample_rows`, takes ids and search
terms from the stored customers, so a reused data set needs no seeding.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import string
import sys
import time
import urllib.parse
import uuid
from collections.abc import Sequence
from typing import Any

from seed_data import customer_batches

from app.db import new_client
from app.service import CustomerModuleService
from benchlib.http import Pool
from benchlib.lag import sync_lag
from benchlib.stats import summary_ms, timed_calls

__all__ = [
    "KINDS",
    "create_in_batches",
    "http_lists",
    "http_sync_lag",
    "link_retrieve_update",
    "pick_terms",
    "sample_rows",
]

KINDS = ("last_name", "email_fragment", "phone_fragment", "company_word")
TERM_FIELDS = ("last_name", "email", "phone", "company_name")
FRESHNESS_WAIT_MS = 1000  # how long a list waits for the index before MongoDB answers it


async def create_in_batches(service: CustomerModuleService, count: int) -> dict[str, Any]:
    """``create_customers`` in batches of 1,000 (1-2 addresses each): customers per second of
    service time (the data generation is not timed), as ``bench.js`` phase 1 reports it."""
    call_s = 0.0
    batch_ms: list[float] = []
    for batch in customer_batches(count):
        start = time.perf_counter()
        await service.create_customers(batch)
        elapsed = time.perf_counter() - start
        call_s += elapsed
        batch_ms.append(elapsed * 1000)
        if len(batch_ms) % 50 == 0:
            done = len(batch_ms) * 1000
            print(f"    created {done:,} ({done / call_s:,.0f}/s)", file=sys.stderr, flush=True)
    return {
        "customers": count,
        "customers_per_s": round(count / call_s),
        "service_time_s": round(call_s, 2),
        "per_batch": summary_ms(batch_ms),
    }


async def sample_rows(uri: str, database: str, rows: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Every live customer's id, and the search fields of the first ``rows`` of them.

    Read with a patient client (``app.db.PATIENT``, the indexer's): SecantusDB materialises a
    read whole before its first batch, and at 1,000,000 it then answered no heartbeat for more
    than the service client's 5 s (``app.db.FAIL_FAST``), which interrupted the read.
    """
    client = new_client(uri, patient=True)
    ids: list[str] = []
    sample: list[dict[str, Any]] = []
    projection = {"_id": 1, "deleted_at": 1, **dict.fromkeys(TERM_FIELDS, 1)}
    # no filter: SecantusDB reads a filter's every match along its index before the first
    # batch (over ten minutes at 1,000,000); the ``_id`` walk, as the reindex copy reads
    cursor = client[database]["customers"].find({}, projection, batch_size=5000)
    try:
        async for doc in cursor.sort("_id", 1).hint([("_id", 1)]):
            if doc.get("deleted_at") is not None:
                continue
            ids.append(doc["_id"])
            if len(sample) < rows:
                sample.append(doc)
    finally:
        await client.close()
    return ids, sample


def pick_terms(rows: Sequence[dict[str, Any]], per_kind: int, seed: int) -> dict[str, list[str]]:
    """``per_kind`` distinct terms of each of ``bench.js``'s four kinds (3+ characters)."""
    rng = random.Random(seed)

    def email_fragment(row: dict[str, Any]) -> str:
        local = re.sub(r"\d+$", "", row["email"].split("@")[0])
        return local[:6]

    def company_word(row: dict[str, Any]) -> str | None:
        words = re.split(r"[\s,-]+", row.get("company_name") or "")
        words = [w for w in words if len(w) >= 4 and w.lower() != "and"]
        return rng.choice(words) if words else None

    kinds = {
        "last_name": lambda row: row.get("last_name"),
        "email_fragment": email_fragment,
        "phone_fragment": lambda row: re.sub(r"\D", "", row.get("phone") or "")[-4:],
        "company_word": company_word,
    }
    terms: dict[str, list[str]] = {}
    for kind, term_of in kinds.items():
        found: dict[str, None] = {}
        for _ in range(per_kind * 50):
            term = term_of(rng.choice(rows))
            if term and len(term) >= 3:
                found[term] = None
            if len(found) == per_kind:
                break
        terms[kind] = list(found)
    return terms


async def link_retrieve_update(
    service: CustomerModuleService, ids: Sequence[str], *, links: int, retrieves: int, seed: int
) -> dict[str, Any]:
    """``bench.js`` phases 4, 3 and 5 in its order: 10 groups; ``links`` single
    ``add_customer_to_group`` calls, then ``links`` pairs in one call; ``retrieves``
    ``retrieve_customer`` with addresses and groups (after 50 untimed, half of them linked
    customers); ``links`` single-id ``update_customers`` (company, phone, metadata)."""
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8]  # new groups (so new links) on a reused data set
    groups = await service.create_customer_groups(
        [{"name": f"peer {tag} {g}", "metadata": {"tier": g}} for g in range(10)]
    )
    links = min(links, len(ids) // 2)
    stride = max(1, len(ids) // (2 * links))
    linked = [ids[k * stride] for k in range(2 * links)]
    link_ms = await timed_calls(
        links,
        lambda k: service.add_customer_to_group(
            {"customer_id": linked[k], "customer_group_id": groups[k % 10].id}
        ),
    )
    start = time.perf_counter()
    await service.add_customer_to_group(
        [
            {"customer_id": linked[links + k], "customer_group_id": groups[k % 10].id}
            for k in range(links)
        ]
    )
    bulk_ms = (time.perf_counter() - start) * 1000
    picks = [rng.choice(linked) if k % 2 == 0 else rng.choice(ids) for k in range(retrieves + 50)]
    relations = {"relations": ["addresses", "groups"]}
    await timed_calls(50, lambda k: service.retrieve_customer(picks[retrieves + k], relations))
    retrieve_ms = await timed_calls(
        retrieves, lambda k: service.retrieve_customer(picks[k], relations)
    )
    updated = [ids[(k * 7919) % len(ids)] for k in range(links)]
    update_ms = await timed_calls(
        links,
        lambda k: service.update_customers(
            updated[k],
            {
                "company_name": f"Renamed Co {k}",
                "phone": f"+1 555 {rng.randrange(10**6, 10**7)}",
                "metadata": {"updated": k},
            },
        ),
    )
    return {
        "group_ids": [g.id for g in groups],
        "add_customer_to_group_single": summary_ms(link_ms),
        "add_customer_to_group_bulk": {"links": links, "ms": round(bulk_ms, 1)},
        "retrieve_with_addresses_groups": summary_ms(retrieve_ms),
        "update_single": summary_ms(update_ms),
    }


async def _get(pool: Pool, path: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    status, body = await pool.request("GET", path)
    elapsed = (time.perf_counter() - start) * 1000
    if status != 200:
        raise RuntimeError(f"GET {path.split('?')[0]} answered {status}: {body[:200]!r}")
    return elapsed, body


async def http_lists(
    pool: Pool, terms: dict[str, list[str]], group_ids: Sequence[str], *, repeat: int, pages: int
) -> dict[str, Any]:
    """List pages of 50 over HTTP, one request at a time: ``q`` per kind (one untimed pass
    over the terms, then ``repeat`` timed passes, as ``bench.js``), pooled over the kinds;
    then ``pages`` plain pages and ``pages`` group-filtered pages (after 20 untimed each)."""
    result: dict[str, Any] = {}
    pooled: list[float] = []
    for kind, qs in terms.items():
        paths = [f"/admin/customers?limit=50&q={urllib.parse.quote(q)}" for q in qs]
        counts = [json.loads((await _get(pool, path))[1])["count"] for path in paths]
        samples = [(await _get(pool, path))[0] for _ in range(repeat) for path in paths]
        pooled += samples
        result[kind] = {
            **summary_ms(samples),
            "count_min": min(counts),
            "count_median": sorted(counts)[len(counts) // 2],
            "count_max": max(counts),
            "zero_hits": counts.count(0),
        }
    result["q_all_kinds"] = summary_ms(pooled)
    variants = {
        "plain": lambda i: "/admin/customers?limit=50",
        "group": lambda i: f"/admin/customers?limit=50&groups[]={group_ids[i % len(group_ids)]}",
    }
    for name, path_of in variants.items():
        for i in range(20):
            await _get(pool, path_of(i))
        result[name] = summary_ms([(await _get(pool, path_of(i)))[0] for i in range(pages)])
    return result


async def http_sync_lag(
    service: CustomerModuleService,
    pool: Pool,
    ids: Sequence[str],
    *,
    rate: int,
    seconds: float,
    seed: int,
) -> dict[str, Any]:
    """Sync lag as a client sees it: ``update_customers`` gives a customer a new unique first
    name (in this process, ``rate`` per second); for every 10th, a ``q`` list over HTTP with
    that name is repeated until it finds the customer. Lag = acknowledgement → that answer,
    so it includes one list request (and the server's read-your-writes wait). That wait
    lasts at most ``FRESHNESS_WAIT_MS``, then MongoDB answers: a lag that long is a lower bound
    of the index's (they are counted)."""
    rng = random.Random(seed)
    salt = "".join(random.choices(string.ascii_lowercase, k=8))  # unlike any earlier run's
    targets = [rng.choice(ids) for _ in range(int(rate * seconds))]

    def name(i: int) -> str:
        return f"Lag{salt}{i:07d}"

    refused = 0

    async def searchable(i: int) -> bool:
        nonlocal refused
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline:
            status, body = await pool.request(
                "GET", f"/admin/customers?limit=1&fields=id&q={name(i)}"
            )
            if status == 200 and json.loads(body)["count"] >= 1:
                return True
            if status == 503:  # over the search budget or concurrency: the lag goes on
                refused += 1
                await asyncio.sleep(0.1)  # back off: quick retries would add to the overload
            elif status != 200:
                raise RuntimeError(f"a lag probe answered {status}: {body[:200]!r}")
            await asyncio.sleep(0.005)
        return False

    result = await sync_lag(
        lambda i: service.update_customers(targets[i], {"first_name": name(i)}),
        searchable,
        rate=rate,
        seconds=seconds,
        count_over_ms=FRESHNESS_WAIT_MS,
    )
    return {**result, "probes_refused_503": refused}
