"""The database's own floor under our write figures: the same round trips with no code of ours.

A goal such as "update p50 <= Medusa's" can be out of reach of the embedded server itself. To
tell that apart from our own cost, this times the bare PyMongo operations our write paths send,
on the same server, the same data shape and the same indexes, right after our own figures:

- create: ``insert_many`` of 1,000 prebuilt customer documents (copies of stored ones, new ids
  and emails) into a scratch collection that has every index of ``customers``;
- update one customer: ``find_one`` by id, then a version-conditional ``update_one`` (what
  ``update_customers`` sends for one id);
- add one customer to a group: ``find_one`` of the group, then a conditional ``$push`` of the
  membership (what ``add_customer_to_group`` sends for one pair).

The scratch collection is dropped at the end; nothing of ours runs, so ours / floor is the
cost of our code (validation, documents, DTOs) above the server's.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from benchlib.stats import summary_ms, timed_calls

__all__ = ["server_floor"]

SCRATCH = "bench_floor_customers"
BATCH = 1_000


async def server_floor(
    database: AsyncDatabase[dict[str, Any]],
    customer_ids: Sequence[str],
    group_ids: Sequence[str],
    *,
    batches: int,
    calls: int,
) -> dict[str, Any]:
    """Time the bare operations (see the module docstring) and drop the scratch collection.

    The model documents are read one by one by id: SecantusDB reads every customer before it
    answers a ``limit``, and ``$in`` over many ids costs it quadratically."""
    scratch = database[SCRATCH]
    await scratch.drop()
    try:
        await _copy_indexes(database["customers"], scratch)
        found = [await database["customers"].find_one({"_id": i}) for i in customer_ids[:BATCH]]
        model = [doc for doc in found if doc is not None]
        inserted: list[str] = []
        insert_s = 0.0
        for _ in range(batches):
            docs = _copies(model)
            start = time.perf_counter()
            await scratch.insert_many(docs, ordered=True)
            insert_s += time.perf_counter() - start
            inserted += [d["_id"] for d in docs]
        ids = inserted[:: max(1, len(inserted) // calls)][:calls]
        return {
            "create_customers_per_s": round(len(inserted) / insert_s),
            "update_single": summary_ms(await timed_calls(len(ids), _updater(scratch, ids))),
            "add_customer_to_group_single": summary_ms(
                await timed_calls(len(ids), _linker(database, scratch, ids, group_ids))
            ),
        }
    finally:
        await scratch.drop()


async def _copy_indexes(source: AsyncCollection[Any], target: AsyncCollection[Any]) -> None:
    """Give ``target`` every index of ``source``, with the same keys and options."""
    for name, spec in (await source.index_information()).items():
        if name == "_id_":
            continue
        options = {k: v for k, v in spec.items() if k not in ("key", "v", "ns")}
        await target.create_index(spec["key"], name=name, **options)


def _copies(model: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored customers with new ids and emails (the unique index must accept them)."""
    tag = uuid.uuid4().hex[:10]
    out = []
    for n, doc in enumerate(model):
        new = copy.deepcopy(doc)
        new["_id"] = f"cus_floor{tag}{n:05d}"
        new["email"] = f"floor{tag}{n}@example.com"
        out.append(new)
    return out


def _updater(scratch: AsyncCollection[Any], ids: Sequence[str]) -> Any:
    async def update(k: int) -> None:
        doc = await scratch.find_one({"_id": ids[k]})
        assert doc is not None
        changes = {
            "company_name": f"Floor Co {k}",
            "metadata": {"updated": k},
            "updated_at": datetime.now(UTC),
            "version": doc.get("version", 0) + 1,
        }
        await scratch.update_one({"_id": ids[k], "version": doc.get("version")}, {"$set": changes})

    return update


def _linker(
    database: AsyncDatabase[Any],
    scratch: AsyncCollection[Any],
    ids: Sequence[str],
    group_ids: Sequence[str],
) -> Any:
    async def link(k: int) -> None:
        group_id = group_ids[k % len(group_ids)]
        group = await database["customer_groups"].find_one({"_id": group_id, "deleted_at": None})
        assert group is not None
        membership = {"id": f"cusgc_floor{k}", "customer_group_id": group_id}
        await scratch.update_one(
            {"_id": ids[k], "groups.customer_group_id": {"$ne": group_id}},
            {"$push": {"groups": membership}, "$inc": {"version": 1}},
        )

    return link
