"""Error bodies and status codes; no malformed request ever gets a 500."""

from __future__ import annotations

import json

import pytest

from app.limits import MAX_METADATA_BYTES as METADATA_MAX_BYTES
from app.webapp import runtime_of

MALFORMED = [
    ("get", "/admin/customers?limit=-1", None),
    ("get", "/admin/customers?limit=1e3", None),
    ("get", "/admin/customers?limit[]=1", None),
    ("get", "/admin/customers?offset=abc", None),
    ("get", "/admin/customers?offset=99999999999999999999999", None),
    ("get", "/admin/customers?limit=1" + "0" * 5000, None),
    ("get", "/admin/customers?order=addresses.city", None),
    ("get", "/admin/customers?fields=" + ",".join(["email"] * 2000), None),
    ("get", "/admin/customers?with_deleted=maybe", None),
    ("get", "/admin/customers?has_account[$eq]=true", None),
    ("get", "/admin/customers?email[$where]=1", None),
    ("get", "/admin/customers?$where=1", None),
    ("get", "/admin/customers?email[$regex]=.*", None),
    ("get", "/admin/customers?created_at[$gt]=yesterday", None),
    ("get", "/admin/customers?created_at[$gt][$gt]=x", None),
    ("get", "/admin/customers?created_at=2024-01-01", None),
    ("get", "/admin/customers?groups[id][$bad]=x", None),
    ("get", "/admin/customers?groups[0][a]=x", None),
    ("get", "/admin/customers?$or=x", None),
    ("get", "/admin/customers?$or[0]=x", None),
    ("get", "/admin/customers?$or[0][$or][0][nope]=x", None),
    ("get", "/admin/customers?a[b][c][d][e][f][g]=1", None),
    ("get", "/admin/customers?a.b.c=1", None),
    ("get", "/admin/customers?x=1&x[y]=2", None),
    ("get", "/admin/customers?groups[99999]=x", None),
    ("get", "/admin/customers?order=", None),
    ("get", "/admin/customers?order=-", None),
    ("get", "/admin/customers?order=metadata", None),
    ("get", "/admin/customers?order=$where", None),
    ("get", "/admin/customers?order=a;b", None),
    ("get", "/admin/customers?fields=*nope,,,-", None),
    ("get", "/admin/customers?q[0]=x", None),
    ("get", "/admin/customers?q=%00", None),
    ("get", "/admin/customers?email=%ff%fe", None),
    ("get", "/admin/customers/%00", None),
    ("get", "/admin/customers/" + "x" * 5000, None),
    ("get", "/admin/customer-groups?customers[email][$nope]=x", None),
    ("get", "/admin/customer-groups?limit=100000", None),
    ("get", "/admin/customers/cus_x/addresses?country_code[$gt]=x", None),
    ("post", "/admin/customers", "not json"),
    ("post", "/admin/customers", "[1, 2]"),
    ("post", "/admin/customers", '"string"'),
    ("post", "/admin/customers", "null"),
    ("post", "/admin/customers", "NaN"),
    ("post", "/admin/customers", '{"metadata": {"x": NaN}}'),
    ("post", "/admin/customers", '{"metadata": {"x": Infinity}}'),
    ("post", "/admin/customers", '{"metadata": {"n": 1e400}}'),
    ("post", "/admin/customers", '{"metadata": {"n": 123456789012345678901234567890}}'),
    ("post", "/admin/customers", "[" * 100_000 + "]" * 100_000),
    ("post", "/admin/customers", '{"metadata": ' + '{"a":' * 50 + "1" + "}" * 50 + "}"),
    ("post", "/admin/customers", '{"email": 5}'),
    ("post", "/admin/customers", '{"email": "a@b"}'),
    ("post", "/admin/customers", '{"email": null, "first_name": {"$ne": 1}}'),
    ("post", "/admin/customers", '{"first_name": "\\ud800"}'),
    ("post", "/admin/customers", '{"metadata": "x"}'),
    ("post", "/admin/customers", '{"metadata": {"\\u0000": 1}}'),
    ("post", "/admin/customers", '{"metadata": {"a": {"\\ud800": 1}}}'),
    ("post", "/admin/customers", '{"first_name": "a\\u0000b", "x": "\\uDFFF"}'),
    ("post", "/admin/customers", '{"additional_data": []}'),
    ("post", "/admin/customer-groups", '{"name": null}'),
    ("post", "/admin/customer-groups", '{"name": ["a"]}'),
    ("post", "/admin/customer-groups/cusgroup_x/customers", '{"add": [1]}'),
    ("post", "/admin/customer-groups/cusgroup_x/customers", '{"add": [null]}'),
    ("post", "/admin/customers/cus_x/customer-groups", '{"remove": {"a": 1}}'),
    ("post", "/admin/customers/cus_x/addresses", '{"is_default_shipping": null}'),
    ("post", "/admin/customers/cus_x/addresses", '{"metadata": {"$set": {"a": 1}}}'),
    ("delete", "/admin/customers/cus_x/addresses/a", None),
    ("post", "/admin/customers/cus_x", "{"),
    ("put", "/admin/customers", "{}"),
    ("patch", "/admin/customers/cus_x", "{}"),
    ("get", "/nope", None),
]


@pytest.mark.parametrize(("method", "url", "data"), MALFORMED)
def test_no_bad_input_gives_a_500(client, admin, method, url, data) -> None:
    response = getattr(client, method)(url, headers=admin, data=data)
    assert response.status_code < 500, (response.status_code, response.data[:300])
    body = response.json
    assert isinstance(body, dict)
    if response.status_code >= 400:
        assert set(body) >= {"type", "message"}


def test_metadata_with_dotted_and_empty_keys_round_trips(client, admin) -> None:
    metadata = {"a.b": "x", "": "empty-key", "nested": {"a.b": 1, "": [{"c.d": None}]}}
    response = client.post("/admin/customers", json={"metadata": metadata}, headers=admin)
    assert response.status_code == 200, response.json
    assert response.json["customer"]["metadata"] == metadata
    stored = client.get(f"/admin/customers/{response.json['customer']['id']}", headers=admin)
    assert stored.json["customer"]["metadata"] == metadata


@pytest.mark.parametrize("metadata", [{"$set": {"a": 1}}, {"ok": {"$where": "1"}}])
def test_metadata_with_operator_keys_is_refused(client, admin, metadata) -> None:
    response = client.post("/admin/customers", json={"metadata": metadata}, headers=admin)
    assert response.status_code == 400, response.json
    assert response.json["type"] == "invalid_data" and "$" in response.json["message"]


def test_body_over_one_mebibyte_is_413(client, admin) -> None:
    body = json.dumps({"metadata": {"x": "a" * (1024 * 1024)}})
    response = client.post("/admin/customers", data=body, headers=admin)
    assert response.status_code == 413
    assert response.json["type"] == "invalid_data"
    big_but_allowed = {"metadata": {"x": "a" * (METADATA_MAX_BYTES + 10)}}
    assert client.post("/admin/customers", json=big_but_allowed, headers=admin).status_code == 400


def test_unknown_route_and_wrong_method(client, admin) -> None:
    response = client.get("/admin/nope", headers=admin)
    assert response.status_code == 404 and response.json["type"] == "not_found"
    response = client.put("/admin/customers", headers=admin)
    assert response.status_code == 405 and response.json["type"] == "not_allowed"
    assert "GET" in response.headers["Allow"]


def test_unexpected_errors_are_opaque_500s(app, client, admin, monkeypatch, caplog) -> None:
    service = runtime_of(app).service

    async def boom(*args, **kwargs):
        raise RuntimeError("secret detail: ann@example.com")

    monkeypatch.setattr(service, "list_and_count_customers", boom)
    response = client.get("/admin/customers", headers=admin)
    assert response.status_code == 500
    assert response.json == {"type": "unknown_error", "message": "An unknown error occurred."}
    assert "secret detail" in caplog.text  # the detail is in the log only
    assert response.headers["X-Request-Id"]


def test_request_id_is_echoed_when_sane(client) -> None:
    assert client.get("/health", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == (
        "abc-123"
    )
    assert client.get("/health", headers={"X-Request-Id": "bad id!"}).headers["X-Request-Id"] != (
        "bad id!"
    )


def test_request_log_has_no_pii(app, client, admin, caplog) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="customers.request"):
        client.post(
            "/admin/customers?fields=email",
            json={"email": "pii@example.com", "first_name": "Secretname"},
            headers=admin,
        )
        client.get("/admin/customers?email=pii@example.com", headers=admin)
    records = [r for r in caplog.records if r.name == "customers.request"]
    assert len(records) == 2
    assert records[0].route == "/admin/customers" and records[0].status == 200
    text = " ".join(str(r.__dict__) for r in records)
    assert "pii@example.com" not in text and "Secretname" not in text
    assert "Basic" not in text
