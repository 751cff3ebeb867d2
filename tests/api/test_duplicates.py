"""Duplicates over HTTP: one customer's duplicates (index-served), scans as jobs, their clusters."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from app.credentials import ApiKeys
from app.webapp import run, runtime_of
from tests.api.conftest import BOTH_PATHS

HOME = {"address_1": "12 Baker Street", "postal_code": "10001", "city": "New York"}


@pytest.fixture
def people(app) -> dict[str, dict[str, Any]]:
    """John (guest) and his account, Jon (his other record), a namesake, his sister at home."""
    service = runtime_of(app).service

    def make(**data: Any) -> dict[str, Any]:
        return run(service.create_customers(data), app=app).model_dump()

    return {
        "john": make(
            email="john.smith@example.com",
            first_name="John",
            last_name="Smith",
            phone="+49 30 1234567",
            addresses=[HOME],
        ),
        "account": make(email="John.Smith@Example.com", has_account=True, first_name="John"),
        "jon": make(
            email="jon.s@work.example", first_name="Jon", last_name="Smith", phone="030 1234567"
        ),
        "namesake": make(email="js@elsewhere.example", first_name="John", last_name="Smith"),
        "sister": make(
            email="anna@example.com", first_name="Anna", last_name="Smith", addresses=[HOME]
        ),
    }


def duplicates(client, admin, customer_id: str, query: str = "") -> Any:
    return client.get(f"/admin/customers/{customer_id}/duplicates{query}", headers=admin)


@BOTH_PATHS
def test_a_customers_duplicates_with_scores_and_reasons(client, admin, people) -> None:
    response = duplicates(client, admin, people["john"]["id"])
    assert response.status_code == 200, response.json
    found = response.json["duplicates"]
    assert [d["customer"]["id"] for d in found] == [people["account"]["id"], people["jon"]["id"]]
    account, jon = found
    assert account["score"] >= jon["score"] >= 0.6
    assert account["reasons"][0] == "same email"
    assert jon["reasons"][0] == "same phone" and jon["reasons"][1].startswith("name 0.9")
    # the customer as the list route shows it by default
    listed = client.get(f"/admin/customers?id={people['jon']['id']}", headers=admin).json
    assert jon["customer"] == listed["customers"][0]


@BOTH_PATHS
def test_min_score_lowers_the_bar_and_hard_negatives_stay_below_it(client, admin, people) -> None:
    found = duplicates(client, admin, people["john"]["id"]).json["duplicates"]
    default = {d["customer"]["id"] for d in found}
    assert people["namesake"]["id"] not in default and people["sister"]["id"] not in default
    everything = duplicates(client, admin, people["john"]["id"], "?min_score=0").json["duplicates"]
    by_id = {d["customer"]["id"]: d for d in everything}
    assert by_id[people["namesake"]["id"]]["reasons"] == ["name 1.00"]
    assert by_id[people["namesake"]["id"]]["score"] < 0.6
    strict = duplicates(client, admin, people["john"]["id"], "?min_score=0.85&limit=1").json
    assert [d["customer"]["id"] for d in strict["duplicates"]] == [people["account"]["id"]]


def test_unknown_deleted_and_bad_input(client, admin, people) -> None:
    assert duplicates(client, admin, "cus_missing").status_code == 404
    client.delete(f"/admin/customers/{people['jon']['id']}", headers=admin)
    assert duplicates(client, admin, people["jon"]["id"]).status_code == 404
    gone = duplicates(client, admin, people["john"]["id"]).json["duplicates"]
    assert people["jon"]["id"] not in {d["customer"]["id"] for d in gone}
    for query in ("?min_score=2", "?min_score=abc", "?limit=0", "?limit=101", "?other=1"):
        response = duplicates(client, admin, people["john"]["id"], query)
        assert response.status_code == 400, query
        assert response.json["type"] == "invalid_data"


def _read_key_headers(app) -> dict[str, str]:
    database = runtime_of(app).service.database
    _, secret = run(ApiKeys(database).create("support", scope="read"), app=app)
    return {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}


def test_read_keys_may_look_up_duplicates_but_not_start_scans(app, client, people) -> None:
    reader = _read_key_headers(app)
    assert duplicates(client, reader, people["john"]["id"]).status_code == 200
    started = client.post("/admin/customers/duplicates/scans", json={}, headers=reader)
    assert started.status_code == 403


def _wait(client, admin, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = client.get(f"/admin/customers/duplicates/scans/{job_id}", headers=admin).json
        if view["state"] in ("succeeded", "failed", "cancelled"):
            return view
        time.sleep(0.05)
    pytest.fail(f"the scan did not end: {view}")


def test_a_scan_job_finds_the_clusters(client, admin, people) -> None:
    started = client.post("/admin/customers/duplicates/scans", json={}, headers=admin)
    assert started.status_code == 202, started.json
    assert started.json["kind"] == "duplicate_scan" and started.json["state"] == "queued"
    job = _wait(client, admin, started.json["id"])
    assert job["state"] == "succeeded", job
    assert job["result"] == {"clusters": 1, "customers": 3, "min_score": 0.6}
    assert job["progress"]["done"] == job["progress"]["total"] == 10
    page = client.get(f"/admin/customers/duplicates/scans/{job['id']}/clusters", headers=admin).json
    ids = sorted(people[name]["id"] for name in ("john", "account", "jon"))
    assert page["count"] == 1 and page["offset"] == 0 and page["limit"] == 50
    (cluster,) = page["clusters"]
    assert cluster["customer_ids"] == ids
    assert cluster["score"] == min(
        d["score"] for d in duplicates(client, admin, people["john"]["id"]).json["duplicates"]
    )
    assert "same email" in cluster["reasons"] and "same phone" in cluster["reasons"]


def test_scan_pages_thresholds_and_errors(client, admin, people) -> None:
    started = client.post(
        "/admin/customers/duplicates/scans", json={"min_score": 0.3}, headers=admin
    ).json
    job = _wait(client, admin, started["id"])
    assert job["params"] == {"min_score": 0.3} and job["result"]["min_score"] == 0.3
    url = f"/admin/customers/duplicates/scans/{job['id']}/clusters"
    whole = client.get(url, headers=admin).json
    namesake = sorted(people[n]["id"] for n in ("john", "account", "jon", "namesake"))
    assert whole["count"] == 1 and whole["clusters"][0]["customer_ids"] == namesake  # not Anna
    past = client.get(f"{url}?offset=1&limit=1", headers=admin).json
    assert past == {"clusters": [], "count": 1, "offset": 1, "limit": 1}
    assert client.get(f"{url}?limit=0", headers=admin).status_code == 400
    for body in ({"min_score": 1.5}, {"min_score": "high"}, {"other": 1}):
        response = client.post("/admin/customers/duplicates/scans", json=body, headers=admin)
        assert response.status_code == 400, body
    missing = client.get("/admin/customers/duplicates/scans/job_missing", headers=admin)
    assert missing.status_code == 404 and missing.json["type"] == "not_found"
    missing = client.get("/admin/customers/duplicates/scans/job_missing/clusters", headers=admin)
    assert missing.status_code == 404
