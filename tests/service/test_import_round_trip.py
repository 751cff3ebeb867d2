"""The export lane's files, imported back: JSONL exactly (after sorting), CSV and Shopify
without duplicates on a second import."""

from __future__ import annotations

from typing import Any

from tests.service.import_support import counts, jsonl, run_import
from tests.service.test_import_jsonl import ANN, GONE, GROUPS


def exported(service: Any, format: str) -> bytes:
    async def collect() -> bytes:
        export = await service.aio.export_customers(format=format, with_deleted=True)
        return b"".join([chunk async for chunk in export])

    return service.run(collect())


def fresh(service: Any) -> None:
    async def empty() -> None:
        await service.aio.store.customers.delete_many({})
        await service.aio.store.groups.delete_many({})

    service.run(empty())


def test_jsonl_export_import_export_is_the_same_file(service):
    run_import(service, jsonl(*GROUPS, ANN, GONE))
    service.create_customers(
        {"email": "api@x.com", "metadata": {"k": [1]}, "addresses": [{"city": "Oslo"}]}
    )
    first = exported(service, "jsonl")
    fresh(service)
    report, errors = run_import(service, first)
    assert report.counts.failed == 0, errors
    assert sorted(exported(service, "jsonl").splitlines()) == sorted(first.splitlines())
    assert counts(run_import(service, first)[0])[:2] == (0, 0)


def test_csv_and_shopify_exports_import_back_without_duplicates(service):
    run_import(service, jsonl(*GROUPS, ANN))  # ANN has an account
    service.create_customers({"email": "b@x.com", "first_name": "Bob"})
    data = exported(service, "csv")
    report, errors = run_import(service, data)
    assert counts(report) == (0, 0, 2, 0), errors

    data = exported(service, "shopify")
    report, errors = run_import(service, data)
    # Shopify rows are guests: Bob is found; Ann's account is not a guest, so a guest Ann is
    # created (as for any Shopify file); a second import finds both.
    assert report.counts.created == 1 and report.counts.failed == 0, errors
    assert counts(run_import(service, data)[0]) == (0, 0, 2, 0)
