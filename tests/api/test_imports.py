"""``/admin/customers/imports``: upload (raw, gzip, multipart), poll, errors, cancel, limits."""

from __future__ import annotations

import gzip
import io
import time
from typing import Any

import pytest

from app.credentials import ApiKeys
from app.webapp import run, runtime_of
from tests.service.import_support import shopify

ROWS = [{"Email": f"c{i}@x.com", "First Name": f"n{i}", "Tags": "vip"} for i in range(5)]
BAD = {"Email": "x" * 400}


def auth(admin: dict[str, str], content_type: str | None = None) -> dict[str, str]:
    headers = {"Authorization": admin["Authorization"]}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def wait_for(client, admin, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/admin/customers/imports/{job_id}", headers=auth(admin)).json
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_upload_poll_counts_and_the_error_report(client, admin):
    data = shopify(*ROWS, BAD)
    answer = client.post(
        "/admin/customers/imports?mode=upsert", data=data, headers=auth(admin, "text/csv")
    )
    assert answer.status_code == 202, answer.json
    job = answer.json
    assert job["state"] == "queued" and job["kind"] == "customer_import"
    assert answer.headers["Location"] == f"/admin/customers/imports/{job['id']}"
    assert job["params"]["format"] == "shopify" and job["errors_url"] is None

    done = wait_for(client, admin, job["id"])
    assert done["state"] == "succeeded", done
    assert done["counts"] == {"created": 5, "updated": 0, "unchanged": 0, "failed": 1,
                              "groups_created": 1}  # fmt: skip
    assert done["progress"] == {"done": 6, "total": 6}
    assert done["errors"] == [
        {"line": 7, "field": "Email",
         "message": "Invalid request: Field 'email' must be at most 320 characters"}
    ]  # fmt: skip
    report = client.get(done["errors_url"], headers=auth(admin))
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert "attachment" in report.headers["Content-Disposition"]
    lines = report.get_data(as_text=True).splitlines()
    report.close()
    assert len(lines) == 2 and lines[1].endswith(
        ",7,Email,Invalid request: Field 'email' must be at most 320 characters"
    )
    listed = client.get("/admin/customers?limit=10", headers=auth(admin)).json
    assert listed["count"] == 5


def test_gzip_and_multipart_uploads_and_a_second_run_unchanged(client, admin):
    body = gzip.compress(shopify(*ROWS))
    first = client.post(
        "/admin/customers/imports", data=body, headers=auth(admin, "application/gzip")
    )
    assert wait_for(client, admin, first.json["id"])["counts"]["created"] == 5

    form = {"file": (io.BytesIO(body), "shopify.csv.gz"), "dry_run": "true"}
    second = client.post(
        "/admin/customers/imports",
        data=form,
        headers=auth(admin),
        content_type="multipart/form-data",
    )
    assert second.status_code == 202, second.json
    assert second.json["params"]["dry_run"] is True
    assert second.json["params"]["source_name"] == "shopify.csv.gz"
    done = wait_for(client, admin, second.json["id"])
    assert done["counts"]["unchanged"] == 5 and done["counts"]["created"] == 0


def test_bad_uploads(client, admin):
    post = client.post
    assert (
        post(
            "/admin/customers/imports", data=b"name,age\n", headers=auth(admin, "text/csv")
        ).status_code
        == 400
    )
    empty = post("/admin/customers/imports", data=b"", headers=auth(admin, "text/csv"))
    assert empty.status_code == 400 and "empty" in empty.json["message"]
    json_body = post("/admin/customers/imports", json={"a": 1}, headers=auth(admin))
    assert json_body.status_code == 415 and json_body.json["type"] == "invalid_data"
    mode = post(
        "/admin/customers/imports?mode=merge", data=shopify(*ROWS), headers=auth(admin, "text/csv")
    )
    assert mode.status_code == 400 and "mode" in mode.json["message"]
    no_file = post(
        "/admin/customers/imports", data={"mode": "create"}, headers=auth(admin),
        content_type="multipart/form-data",
    )  # fmt: skip
    assert no_file.status_code == 400 and "file" in no_file.json["message"]
    broken = post(  # a part that never ends (found by schemathesis: was a 500)
        "/admin/customers/imports",
        data=b"--b\r\n2.19e-74--b",
        headers=auth(admin, "multipart/form-data; boundary=b"),
    )
    assert broken.status_code == 400 and "multipart" in broken.json["message"]
    for body in (b"\x1f\x8b\x08\x00garbage", b"\xff\xfe\x00garbage"):  # bad gzip, bad UTF-8
        bad = post("/admin/customers/imports", data=body, headers=auth(admin, "application/gzip"))
        assert bad.status_code == 400 and bad.json["type"] == "invalid_data"
    assert client.get("/admin/customers/imports/job_nope", headers=auth(admin)).status_code == 404


def test_an_upload_over_the_limit_is_413(client, admin, index_app, monkeypatch):
    runtime = runtime_of(index_app)
    monkeypatch.setattr(runtime, "settings", _with_limit(runtime.settings, 2_000))
    big = shopify(*ROWS * 20)  # more than 2,000 bytes, less than the 1 MiB JSON limit
    answer = client.post("/admin/customers/imports", data=big, headers=auth(admin, "text/csv"))
    assert answer.status_code == 413
    assert answer.json == {
        "type": "invalid_data",
        "message": "The file is larger than the 2000 bytes an import may take "
        "(CUSTOMERS_IMPORT_MAX_BYTES)",
    }
    small = client.post(
        "/admin/customers/imports", data=shopify(*ROWS), headers=auth(admin, "text/csv")
    )
    assert small.status_code == 202
    wait_for(client, admin, small.json["id"])  # before the next test's clean collections


def _with_limit(settings, limit):
    import dataclasses

    return dataclasses.replace(settings, import_max_bytes=limit)


def test_a_large_upload_is_not_held_to_the_json_body_limit(client, admin):
    rows = [{"Email": f"c{i}@x.com", "Note": "n" * 600} for i in range(2_000)]
    data = shopify(*rows)
    assert len(data) > 1024 * 1024
    answer = client.post("/admin/customers/imports", data=data, headers=auth(admin, "text/csv"))
    assert answer.status_code == 202
    done = wait_for(client, admin, answer.json["id"], timeout=120)
    assert done["counts"]["created"] == 2_000


def test_cancel(client, admin):
    answer = client.post(
        "/admin/customers/imports", data=shopify(*ROWS), headers=auth(admin, "text/csv")
    )
    cancelled = client.post(
        f"/admin/customers/imports/{answer.json['id']}/cancel", headers=auth(admin)
    )
    assert cancelled.status_code == 200
    final = wait_for(client, admin, answer.json["id"])
    assert final["state"] in ("cancelled", "succeeded")  # a queued job is cancelled at once
    if answer.json["state"] == "queued":
        assert cancelled.json["state"] in ("cancelled", "running")
    missing = client.post("/admin/customers/imports/job_nope/cancel", headers=auth(admin))
    assert missing.status_code == 404


@pytest.fixture
def read_headers(index_app) -> dict[str, str]:
    database = runtime_of(index_app).service.database
    _, secret = run(ApiKeys(database).create("support", scope="read"), app=index_app)
    return {"Authorization": f"Bearer {secret}"}


def test_read_keys_get_403_everywhere(client, admin, read_headers):
    job = client.post(
        "/admin/customers/imports", data=shopify(*ROWS), headers=auth(admin, "text/csv")
    ).json
    for method, path in [
        ("post", "/admin/customers/imports"),
        ("get", f"/admin/customers/imports/{job['id']}"),
        ("get", f"/admin/customers/imports/{job['id']}/errors"),
        ("post", f"/admin/customers/imports/{job['id']}/cancel"),
    ]:
        answer = getattr(client, method)(path, headers=read_headers)
        assert answer.status_code == 403, (method, path)
        assert answer.json["type"] == "not_allowed"
    wait_for(client, admin, job["id"])


def test_the_routes_are_documented(client):
    spec = client.get("/openapi.json").json
    upload = spec["paths"]["/admin/customers/imports"]["post"]
    assert set(upload["requestBody"]["content"]) >= {"text/csv", "application/x-ndjson",
                                                     "application/gzip", "multipart/form-data"}  # fmt: skip
    assert "202" in upload["responses"] and "413" in upload["responses"]
    assert "403" in upload["responses"]
    errors = spec["paths"]["/admin/customers/imports/{import_id}/errors"]["get"]
    assert "text/csv" in errors["responses"]["200"]["content"]
    assert "/admin/customers/imports/{import_id}/cancel" in spec["paths"]
