"""One customer's data export, erasure and retention purges, through the service (MongoDB only;
the search index side is in tests/indexers/test_erasure.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.errors import CustomerModuleError
from app.service.data_export import CUSTOMER_KEYS


def error_of(call, *args, **kwargs) -> CustomerModuleError:
    with pytest.raises(CustomerModuleError) as info:
        call(*args, **kwargs)
    return info.value


def stored(service, customer_id: str):
    return service.run(service.store.customers.find_one({"_id": customer_id}))


def set_raw(service, customer_id: str, **fields) -> None:
    service.run(service.store.customers.update_one({"_id": customer_id}, {"$set": fields}))


def receipts(service) -> list[dict]:
    return service.run(service.store.erasures.find({}).sort("_id", 1).to_list())


def customer_with_everything(service):
    """A registered customer with two addresses (one deleted), two groups, metadata."""
    customer = service.create_customer_account(
        {
            "email": "ann@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "metadata": {"vip": True},
            "addresses": [
                {"city": "Paris", "address_1": "1 rue A", "is_default_shipping": True},
                {"city": "Lyon", "address_1": "2 rue B"},
            ],
        },
        "authid_ann",
    )
    gone = next(a for a in customer.addresses if a.city == "Lyon")
    service.soft_delete_customer_addresses([gone.id])
    gold, silver = service.create_customer_groups([{"name": "gold"}, {"name": "silver"}])
    service.add_customer_to_group(
        [
            {"customer_id": customer.id, "customer_group_id": gold.id},
            {"customer_id": customer.id, "customer_group_id": silver.id},
        ]
    )
    service.soft_delete_customer_groups([silver.id])
    return customer, gone, gold, silver


def test_the_data_export_holds_everything_stored_about_the_customer(service) -> None:
    customer, gone, gold, _silver = customer_with_everything(service)
    merged = service.create_customers({"email": "ann.old@example.com"})
    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    set_raw(service, merged.id, merged_into=customer.id, deleted_at=at)
    provenance = {"merged_from": [{"id": merged.id, "at": at, "by": "apk_1"}]}
    set_raw(service, customer.id, provenance=provenance)

    export = service.export_customer_data(customer.id)

    assert list(export) == [
        "customer",
        "addresses",
        "groups",
        "merged_customers",
        "identity_links",
        "exported_at",
    ]
    profile = export["customer"]
    assert tuple(profile) == CUSTOMER_KEYS
    assert profile["id"] == customer.id and profile["email"] == "ann@example.com"
    assert profile["metadata"] == {"vip": True} and profile["has_account"] is True
    assert profile["merged_into"] is None
    assert profile["provenance"] == {
        "merged_from": [{"id": merged.id, "at": "2026-01-02T03:04:05.678Z", "by": "apk_1"}]
    }
    assert profile["created_at"].endswith("Z")
    by_city = {a["city"]: a for a in export["addresses"]}
    assert set(by_city) == {"Paris", "Lyon"}  # the deleted address too
    assert by_city["Lyon"]["id"] == gone.id and by_city["Lyon"]["deleted_at"] is not None
    assert by_city["Paris"]["deleted_at"] is None and by_city["Paris"]["is_default_shipping"]
    names = {g["customer_group_name"]: g for g in export["groups"]}
    assert set(names) == {"gold", "silver"}
    assert names["gold"]["customer_group_id"] == gold.id
    assert names["gold"]["customer_group_deleted_at"] is None
    assert names["silver"]["customer_group_deleted_at"] is not None
    assert names["gold"]["id"].startswith("cusgc_")
    assert export["merged_customers"] == [merged.id]
    assert [link["auth_identity_id"] for link in export["identity_links"]] == ["authid_ann"]


def test_a_soft_deleted_customer_is_exported_too_and_an_unknown_id_is_not_found(service) -> None:
    customer = service.create_customers({"email": "bo@example.com"})
    service.soft_delete_customers([customer.id])
    export = service.export_customer_data(customer.id)
    assert export["customer"]["deleted_at"] is not None
    assert export["customer"]["email"] == "bo@example.com"
    err = error_of(service.export_customer_data, "cus_nobody")
    assert (err.type, err.message) == ("not_found", "Customer with id: cus_nobody not found")


def test_erasure_removes_the_customer_and_keeps_a_receipt_without_personal_data(service) -> None:
    customer, *_ = customer_with_everything(service)
    other = service.create_customers({"email": "keep@example.com"})
    dead = service.store.dead_letters
    service.run(
        dead.insert_many(
            [
                {"_id": f"customers:{customer.id}:1", "customer_id": customer.id, "reason": "x"},
                {"_id": f"customers:{other.id}:1", "customer_id": other.id, "reason": "y"},
            ]
        )
    )

    result = service.erase_customers(customer.id, actor="apk_admin")

    assert result.erased == [customer.id] and result.index_synced is None
    assert stored(service, customer.id) is None
    assert stored(service, other.id) is not None
    (receipt,) = receipts(service)
    assert set(receipt) == {"_id", "erased_at", "by"}
    assert receipt["_id"] == customer.id and receipt["by"] == "apk_admin"
    assert result.receipts[0].id == customer.id
    assert [d["customer_id"] for d in service.run(dead.find({}).to_list())] == [other.id]
    # the identity is free: it registers again
    again = service.create_customer_account({"email": "ann@example.com"}, "authid_ann")
    assert again.id != customer.id


def test_erasure_takes_the_customers_merged_into_it_recursively(service) -> None:
    survivor, middle, oldest, bystander = service.create_customers(
        [{"email": f"{n}@example.com"} for n in ("s", "m", "o", "b")]
    )
    set_raw(service, middle.id, merged_into=survivor.id, deleted_at=datetime.now(UTC))
    set_raw(service, oldest.id, merged_into=middle.id, deleted_at=datetime.now(UTC))

    result = service.erase_customers([survivor.id], actor="apk_admin")

    assert sorted(result.erased) == sorted([survivor.id, middle.id, oldest.id])
    assert [r["_id"] for r in receipts(service)] == sorted([survivor.id, middle.id, oldest.id])
    assert stored(service, bystander.id) is not None
    for gone in (survivor, middle, oldest):
        assert stored(service, gone.id) is None


def test_erasure_is_idempotent_and_refuses_unknown_ids_before_writing(service) -> None:
    customer = service.create_customers({"email": "ida@example.com"})
    first = service.erase_customers(customer.id, actor="apk_1")
    again = service.erase_customers(customer.id, actor="apk_2")
    assert again.erased == [] and again.receipts == first.receipts  # the first receipt stays
    assert again.receipts[0].by == "apk_1"

    kept = service.create_customers({"email": "kept@example.com"})
    err = error_of(service.erase_customers, [kept.id, "cus_never"], actor="apk_1")
    assert err.type == "not_found" and "cus_never" in err.message
    assert stored(service, kept.id) is not None  # nothing was erased
    assert [r["_id"] for r in receipts(service)] == [customer.id]


def test_a_soft_deleted_customer_is_erased_too(service) -> None:
    customer = service.create_customers({"email": "soft@example.com"})
    service.soft_delete_customers([customer.id])
    assert service.erase_customers(customer.id, actor="apk_1").erased == [customer.id]
    assert stored(service, customer.id) is None


def test_erasure_input_is_bounded(service) -> None:
    err = error_of(service.erase_customers, [f"cus_{n}" for n in range(1001)], actor=None)
    assert err.type == "invalid_data" and "1000" in err.message
    err = error_of(service.erase_customers, "x" * 1000, actor=None)
    assert err.type == "invalid_data"


def test_purge_erases_customers_deleted_before_the_date_with_a_dry_run_first(service) -> None:
    old, recent, live = service.create_customers(
        [{"email": f"{n}@example.com"} for n in ("old", "recent", "live")]
    )
    now = datetime.now(UTC)
    set_raw(service, old.id, deleted_at=now - timedelta(days=400))
    set_raw(service, recent.id, deleted_at=now - timedelta(days=10))
    cutoff = now - timedelta(days=365)
    seen: list[tuple[int, int]] = []

    dry = service.purge_customers(cutoff, dry_run=True, progress=lambda *p: seen.append(p))
    assert (dry.matched, dry.erased) == (1, 0)
    assert stored(service, old.id) is not None and receipts(service) == []

    real = service.purge_customers(cutoff, progress=lambda *p: seen.append(p))
    assert (real.matched, real.erased) == (1, 1)
    assert stored(service, old.id) is None
    assert stored(service, recent.id) is not None and stored(service, live.id) is not None
    (receipt,) = receipts(service)
    assert receipt["_id"] == old.id and receipt["by"] == "purge"
    assert seen[-1] == (1, 1)


def test_purge_works_in_batches(service) -> None:
    customers = service.create_customers([{"email": f"p{n}@example.com"} for n in range(7)])
    long_ago = datetime.now(UTC) - timedelta(days=30)
    for customer in customers:
        set_raw(service, customer.id, deleted_at=long_ago)
    from app.service import erasure

    seen: list[tuple[int, int]] = []
    done = service.run(
        erasure.purge(
            service.store,
            datetime.now(UTC),
            dry_run=False,
            by="purge",
            progress=lambda *p: seen.append(p),
            batch_size=3,
        )
    )
    assert (done.matched, done.erased) == (7, 7)
    assert seen == [(0, 7), (3, 7), (6, 7), (7, 7)]
    assert len(receipts(service)) == 7
