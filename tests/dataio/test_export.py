"""The streaming export through the service: exact files, filters, consistency, streaming."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.errors import CursorNotFound

from app.errors import InvalidData
from tests.dataio.export_data import store_data_set

GOLDEN = Path(__file__).parent / "golden"
FILES = {"jsonl": "customers.jsonl", "csv": "customers.csv", "shopify": "customers.shopify.csv"}


def export_bytes(service, filters=None, **options) -> bytes:
    async def collect() -> bytes:
        export = await service.aio.export_customers(filters, **options)
        return b"".join([chunk async for chunk in export])

    return service.run(collect())


def exported_ids(service, filters=None, **options) -> list[str]:
    lines = export_bytes(service, filters, format="jsonl", **options).decode().splitlines()
    return [json.loads(line)["id"] for line in lines if '"type":"customer"' in line]


@pytest.fixture
def data_set(service):
    store_data_set(service)
    return service


@pytest.mark.parametrize("fmt", FILES)
@pytest.mark.parametrize("with_deleted", [False, True])
def test_each_format_writes_exactly_the_known_file(data_set, fmt, with_deleted):
    name = FILES[fmt].replace("customers", "customers-with-deleted") if with_deleted else FILES[fmt]
    expected = (GOLDEN / name).read_bytes()
    assert export_bytes(data_set, format=fmt, with_deleted=with_deleted) == expected


def test_the_known_files_hold_what_the_layouts_promise():
    """The golden files themselves, read back: the cases they exist for are in them."""
    jsonl = [json.loads(line) for line in (GOLDEN / "customers.jsonl").read_text().splitlines()]
    assert [line["type"] for line in jsonl] == ["customer_group"] * 3 + ["customer"] * 3
    assert "Empty" in [line["name"] for line in jsonl[:3]]  # a group without members
    zoe = jsonl[3]
    assert list(zoe)[:3] == ["type", "id", "email"] and list(zoe)[-2:] == ["addresses", "groups"]
    assert [a["id"] for a in zoe["addresses"]] == ["cuaddr_1a", "cuaddr_1b"]  # not the deleted
    assert zoe["metadata"]["note"] == 'says "hi",\nthen left' and zoe["created_at"].endswith(
        ".123Z"
    )
    assert "provenance" not in zoe and jsonl[5]["provenance"]["imported"]["line"] == 2
    restore = (GOLDEN / "customers-with-deleted.jsonl").read_text()
    assert '"id":"cus_03"' in restore and '"id":"cusgroup_d"' in restore and "cuaddr_1c" in restore
    rows = (GOLDEN / "customers.csv").read_bytes().split(b"\r\n")
    assert rows[0].startswith(b"id,email,") and b",groups,address.id," in rows[0]
    shopify = (GOLDEN / "customers.shopify.csv").read_text().splitlines()
    assert shopify[0].startswith("Customer ID,First Name,") and shopify[0].endswith(",Tax Exempt")
    assert shopify[-1].startswith("7001,Sho,Pify,sho@example.com,yes,")


def test_gzip_is_the_same_file_gzipped(data_set):
    packed = export_bytes(data_set, format="csv", gzip=True)
    assert gzip.decompress(packed) == (GOLDEN / "customers.csv").read_bytes()


@pytest.mark.parametrize(
    ("filters", "with_deleted", "ids"),
    [
        ({"q": "pify"}, False, ["cus_04"]),
        ({"q": "zoe@example"}, False, ["cus_01"]),
        ({"groups": ["cusgroup_b"]}, False, ["cus_01", "cus_04"]),
        ({"groups": ["cusgroup_a"]}, True, ["cus_01", "cus_03"]),
        ({"groups": {"name": "VIP"}}, False, ["cus_01"]),
        ({"has_account": True}, False, ["cus_02"]),
        ({"has_account": False}, False, ["cus_01", "cus_04"]),
        ({"id": ["cus_03", "cus_04"]}, False, ["cus_04"]),
        ({"id": ["cus_03", "cus_04"]}, True, ["cus_03", "cus_04"]),
        ({"created_at": {"$gt": "2026-11-30T05:00:00Z"}}, False, []),
        (None, True, ["cus_01", "cus_02", "cus_03", "cus_04"]),
    ],
)
def test_filters_are_the_customer_lists(data_set, filters, with_deleted, ids):
    assert exported_ids(data_set, filters, with_deleted=with_deleted) == ids
    listed = data_set.list_customers(filters, {"with_deleted": with_deleted, "take": None})
    assert sorted(c.id for c in listed) == ids


def test_group_lines_are_every_group_whatever_the_filter(data_set):
    lines = export_bytes(data_set, {"q": "pify"}, format="jsonl").decode().splitlines()
    assert [json.loads(line)["id"] for line in lines[:3]] == [
        "cusgroup_a",
        "cusgroup_b",
        "cusgroup_c",
    ]


@pytest.mark.parametrize(
    ("filters", "options", "message"),
    [
        (None, {"format": "xml"}, "format must be one of jsonl, csv, shopify, got 'xml'"),
        ({"nope": 1}, {}, "unknown field 'nope'"),
        ({"has_account": "maybe"}, {}, "'has_account' expects a boolean"),
    ],
)
def test_bad_input_is_invalid_data_before_the_first_byte(service, filters, options, message):
    with pytest.raises(InvalidData, match=message):
        service.run(service.aio.export_customers(filters, **options))


def test_a_customer_created_or_deleted_meanwhile_is_written_once_or_not_at_all(service):
    """Write between the pages of an export (3 customers a page): creates (new ids sort
    last), soft deletes ahead of and behind the cursor, restores. No id may appear twice, and
    every customer live throughout appears exactly once."""
    made = [c.id for c in service.create_customers([{"first_name": f"c{i}"} for i in range(30)])]

    async def run_export() -> tuple[list[str], set[str]]:
        export = await service.aio.export_customers(page_size=3)
        seen: list[str] = []
        touched: set[str] = set()
        step = 0
        async for chunk in export:
            seen += [json.loads(line)["id"] for line in chunk.decode().splitlines()]
            step += 1
            if '"type":"customer"' not in chunk.decode():
                continue
            new = await service.aio.create_customers([{"first_name": f"new{step}"}])
            touched.add(new[0].id)
            ahead, behind = made[min(29, 3 * step + 1)], made[max(0, 3 * step - 2)]
            await service.aio.soft_delete_customers([ahead, behind])
            touched |= {ahead, behind}
            if step % 2:
                await service.aio.restore_customers([ahead])
        return seen, touched

    seen, touched = service.run(run_export())
    customers = [i for i in seen if i.startswith("cus_")]
    assert len(customers) == len(set(customers))
    untouched = [i for i in made if i not in touched]
    assert untouched and all(customers.count(i) == 1 for i in untouched)


def test_the_export_streams_a_page_at_a_time(service):
    """Nothing is read before the export is iterated, and after the first page only that page
    has been read (asserted on the iterator's counters, not on time)."""
    service.create_customers([{"first_name": f"c{i}"} for i in range(10)])

    async def first_page() -> tuple[int, int, bytes]:
        export = await service.aio.export_customers(format="csv", page_size=4)
        before = export.written
        chunks = aiter(export)
        header = await anext(chunks)
        assert header.startswith(b"id,email,")
        page = await anext(chunks)
        after = export.written
        await export.aclose()
        return before, after, page

    before, after, page = service.run(first_page())
    assert (before, after) == (0, 4)
    assert page.count(b"\r\n") == 4


def test_a_lost_cursor_resumes_after_the_last_page_written(service, monkeypatch):
    """The server drops the cursor (as after a cursor timeout) in the middle of a page: the
    export carries on after the last customer it wrote, so every customer is in it once."""
    made = [c.id for c in service.create_customers([{"first_name": f"c{i}"} for i in range(10)])]
    real_next = AsyncCursor.next
    served = {"docs": 0, "lost": 0}

    async def flaky_next(cursor):
        served["docs"] += 1
        if served["docs"] == 6 and not served["lost"]:  # the 2nd document of the 3rd page
            served["lost"] += 1
            raise CursorNotFound("cursor id 1 not found", 43)
        return await real_next(cursor)

    monkeypatch.setattr(AsyncCursor, "next", flaky_next)
    assert exported_ids(service, page_size=2) == made
    assert served["lost"] == 1


def test_a_cursor_lost_again_and_again_fails_the_export(service, monkeypatch):
    service.create_customers([{"first_name": "a"}])

    async def lost(cursor):
        raise CursorNotFound("cursor id 1 not found", 43)

    monkeypatch.setattr(AsyncCursor, "next", lost)
    with pytest.raises(CursorNotFound):
        exported_ids(service)
