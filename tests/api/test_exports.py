"""``/admin/customers/export``: the streamed file, its filters, and the export as a job."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import time
from pathlib import Path

import pytest

from app.credentials import ApiKeys
from app.jobs import customer_export, register
from app.jobs.registry import kind_of
from app.webapp import run, runtime_of
from tests.dataio.export_data import stored_customers, stored_groups

GOLDEN = Path(__file__).parent.parent / "dataio" / "golden"
DISPOSITION = re.compile(r'^attachment; filename="customers-\d{8}T\d{6}Z\.(jsonl|csv)(\.gz)?"$')


@pytest.fixture
def data_set(app):
    async def store() -> None:
        database = runtime_of(app).service.database
        await database["customer_groups"].insert_many(stored_groups())
        await database["customers"].insert_many(stored_customers())

    run(store(), app=app)


def ids_of(body: bytes) -> list[str]:
    return [
        json.loads(line)["id"]
        for line in body.decode().splitlines()
        if json.loads(line)["type"] == "customer"
    ]


@pytest.mark.parametrize(
    ("query", "content_type", "golden"),
    [
        ("", "application/x-ndjson", "customers.jsonl"),
        ("?format=csv", "text/csv; charset=utf-8", "customers.csv"),
        (
            "?format=shopify&with_deleted=true",
            "text/csv; charset=utf-8",
            "customers-with-deleted.shopify.csv",
        ),
    ],
)
def test_the_file_is_streamed_with_its_type_and_name(
    client, admin, data_set, query, content_type, golden
):
    response = client.get(f"/admin/customers/export{query}", headers=admin, buffered=False)
    assert response.status_code == 200
    assert response.is_streamed  # a generator, never the whole file in memory
    assert response.headers["Content-Type"] == content_type
    assert DISPOSITION.match(response.headers["Content-Disposition"])
    assert "Content-Length" not in response.headers  # chunked
    assert b"".join(response.response) == (GOLDEN / golden).read_bytes()


def test_the_first_chunk_is_sent_before_the_customers_are_read(client, admin, data_set):
    response = client.get("/admin/customers/export", headers=admin, buffered=False)
    chunks = iter(response.response)
    first = next(chunks)
    assert [json.loads(line)["type"] for line in first.decode().splitlines()] == [
        "customer_group"
    ] * 3
    rest = b"".join(chunks)
    assert ids_of(rest) == ["cus_01", "cus_02", "cus_04"]


def test_gzip(client, admin, data_set):
    response = client.get("/admin/customers/export?format=csv&gzip=true", headers=admin)
    assert response.headers["Content-Type"] == "application/gzip"
    assert response.headers["Content-Disposition"].endswith('.csv.gz"')
    assert gzip.decompress(response.data) == (GOLDEN / "customers.csv").read_bytes()


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("q=pify", ["cus_04"]),
        ("groups[0]=cusgroup_b", ["cus_01", "cus_04"]),
        ("groups[]=cusgroup_a&with_deleted=true", ["cus_01", "cus_03"]),
        ("has_account=true", ["cus_02"]),
        (
            "created_at[$lt]=2026-11-30T05:00:00Z&with_deleted=true",
            ["cus_01", "cus_02", "cus_03", "cus_04"],
        ),
        ("id[]=cus_03&id[]=cus_04", ["cus_04"]),
    ],
)
def test_the_list_filters_apply(client, admin, data_set, query, ids):
    response = client.get(f"/admin/customers/export?{query}", headers=admin)
    assert response.status_code == 200, response.data
    assert ids_of(response.data) == ids


@pytest.mark.parametrize(
    ("query", "field"),
    # has_account=maybe: the customer list's own (vague) message, "Invalid input"
    [("format=xml", "format"), ("has_account=maybe", ""), ("nope=1", "nope"), ("gzip=2", "")],
)
def test_bad_parameters_are_400_naming_the_field(client, admin, query, field):
    response = client.get(f"/admin/customers/export?{query}", headers=admin)
    assert response.status_code == 400
    assert response.json["type"] == "invalid_data" and field in response.json["message"]


def test_a_read_key_may_export_but_not_start_a_job(client, app, data_set):
    _, secret = run(
        ApiKeys(runtime_of(app).service.database).create("support", scope="read"), app=app
    )
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    assert client.get("/admin/customers/export", headers=headers).status_code == 200
    assert client.post("/admin/customers/export", json={}, headers=headers).status_code == 403


def test_unauthenticated_is_401(client):
    assert client.get("/admin/customers/export").status_code == 401


def wait_for(client, admin, url: str, state: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        body = client.get(url, headers=admin).json
        if body["job"]["state"] == state:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_the_export_as_a_job_202_poll_download(client, admin, data_set):
    response = client.post(
        "/admin/customers/export", json={"format": "csv", "groups": ["cusgroup_b"]}, headers=admin
    )
    assert response.status_code == 202
    body = response.json
    job_id = body["transaction_id"]
    assert body["job"]["id"] == job_id and body["job"]["kind"] == "customer_export"
    assert body["file"] == f"/admin/customers/exports/{job_id}/file"
    assert body["job"]["params"]["filters"] == {"groups": ["cusgroup_b"]}
    done = wait_for(client, admin, f"/admin/customers/exports/{job_id}", "succeeded")
    assert done["job"]["result"]["customers"] == 2 and done["job"]["progress"]["done"] == 2
    download = client.get(body["file"], headers=admin)
    data = download.data
    assert download.status_code == 200
    assert download.headers["Content-Length"] == str(len(data))
    assert DISPOSITION.match(download.headers["Content-Disposition"])
    streamed = client.get("/admin/customers/export?format=csv&groups[]=cusgroup_b", headers=admin)
    assert data == streamed.data
    assert [row.split(b",")[0] for row in data.split(b"\r\n")[1:-1]] == [
        b"cus_01",
        b"cus_01",
        b"cus_04",
    ]


def test_the_file_is_409_until_the_job_is_done(client, admin, data_set):
    release = asyncio.Event()
    real = customer_export.run_export

    async def held(ctx):
        await release.wait()
        return await real(ctx)

    register(customer_export.KIND, held)
    try:
        body = client.post("/admin/customers/export", json={}, headers=admin).json
        early = client.get(body["file"], headers=admin)
        assert early.status_code == 409
        assert early.json["type"] == "conflict"
        assert re.search(r"it is (queued|running)$", early.json["message"])
        loop = runtime_of(client.application).loop.loop
        loop.call_soon_threadsafe(release.set)
        wait_for(client, admin, f"/admin/customers/exports/{body['transaction_id']}", "succeeded")
    finally:
        register(customer_export.KIND, real)
    data = client.get(body["file"], headers=admin).data
    assert ids_of(data) == ["cus_01", "cus_02", "cus_04"]


def test_bad_job_requests(client, admin):
    assert client.get("/admin/customers/exports/job_nope", headers=admin).status_code == 404
    assert client.get("/admin/customers/exports/job_nope/file", headers=admin).status_code == 404
    bad = client.post("/admin/customers/export", json={"format": "xml"}, headers=admin)
    assert bad.status_code == 400 and "format" in bad.json["message"]
    bad = client.post("/admin/customers/export", json={"nope": "x"}, headers=admin)
    assert bad.status_code == 400 and "nope" in bad.json["message"]
    bad = client.post("/admin/customers/export", json=["not", "an", "object"], headers=admin)
    assert bad.status_code == 400 and "object" in bad.json["message"]


def test_at_most_two_exports_stream_at_once(client, admin, data_set):
    open_ = [client.get("/admin/customers/export", headers=admin, buffered=False) for _ in range(2)]
    try:
        third = client.get("/admin/customers/export", headers=admin)
        assert third.status_code == 503 and third.headers["Retry-After"] == "5"
        assert "POST /admin/customers/export" in third.json["message"]
    finally:
        for response in open_:
            response.close()
    assert client.get("/admin/customers/export", headers=admin).status_code == 200


def test_an_export_job_is_not_resumable():
    """A restart of `serve` ends a running export `failed` (the runner's rule for such kinds)."""
    kind = kind_of(customer_export.KIND)
    assert kind is not None and kind.resumable is False
