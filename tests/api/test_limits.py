"""Bounded input over HTTP: 400 naming the field and limit, small error bodies, 415 for
bodies that are not JSON, and data stored over the limits still served."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote as urlquote

import pytest
from pymongo import MongoClient

from app.errors import QUOTE_CHARS

MB = "x" * 1_000_000
BIG = "x" * 100_000  # fits a URL and the 1 MiB body limit with room to spare
SMALL = 3 * QUOTE_CHARS + 200  # bytes an error body may take: wording plus a quoted value


def small_error(response, status: int = 400) -> str:
    assert response.status_code == status, (response.status_code, response.data[:300])
    assert len(response.data) < SMALL, len(response.data)
    assert response.json["type"] == "invalid_data"
    return response.json["message"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"first_name": MB[:900_000]}, "Field 'first_name' must be at most 1000 characters"),
        ({"email": "a" * 900_000 + "@example.com"}, "Field 'email' must be at most 320 characters"),
        ({"metadata": {"a": 1}, BIG: 1}, "Unrecognized fields: '" + "x" * 99 + "…'"),
        ({"metadata": {"k" * 5000: {"$x": 1}}}, "Field 'metadata." + "k" * 90 + "…' may not"),
    ],
)
def test_customer_bodies_over_the_limits(client, admin, body, expected) -> None:
    assert expected in small_error(client.post("/admin/customers", json=body, headers=admin))
    assert client.get("/admin/customers", headers=admin).json["count"] == 0


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity"])
def test_numbers_must_be_finite(client, admin, number) -> None:
    body = '{"metadata": {"a": ' + number + "}}"
    message = small_error(client.post("/admin/customers", data=body, headers=admin))
    assert "finite" in message or "not valid JSON" in message
    assert client.get("/admin/customers", headers=admin).json["count"] == 0


def test_1e400_is_refused_not_stored_as_null(client, admin) -> None:
    response = client.post("/admin/customers", data='{"metadata": {"a": 1e400}}', headers=admin)
    assert small_error(response) == ("Invalid request: Field 'metadata.a' must be a finite number")


def test_address_city_and_group_name_limits(client, admin, make_customer, make_group) -> None:
    customer = make_customer(email="a@example.com")
    url = f"/admin/customers/{customer['id']}/addresses"
    message = small_error(client.post(url, json={"city": MB[:900_000]}, headers=admin))
    assert message == "Invalid request: Field 'city' must be at most 1000 characters"
    message = small_error(client.post("/admin/customer-groups", json={"name": BIG}, headers=admin))
    assert message == "Invalid request: Field 'name' must be at most 1000 characters"
    group = make_group("g")
    link = f"/admin/customer-groups/{group['id']}/customers"
    message = small_error(client.post(link, json={"add": [BIG]}, headers=admin))
    assert message == "Invalid request: Field 'add, 0' must be at most 64 characters"
    message = small_error(client.post(link, json={"add": ["c"] * 1001}, headers=admin))
    assert message == "Invalid request: Field 'add' must have at most 1000 items"


def test_duplicate_email_error_is_small(client, admin, store_headers) -> None:
    email = "a" * 300 + "@example.com"
    assert client.post("/admin/customers", json={"email": email}, headers=admin).status_code == 200
    response = client.post("/admin/customers", json={"email": email}, headers=admin)
    assert "already exists" in small_error(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/admin/customers/{id}"),
        ("post", "/admin/customers/{id}"),
        ("delete", "/admin/customers/{id}"),
        ("get", "/admin/customers/{id}/addresses"),
        ("get", "/admin/customers/cus_x/addresses/{id}"),
        ("get", "/admin/customer-groups/{id}"),
        ("post", "/admin/customer-groups/{id}/customers"),
    ],
)
def test_ids_in_paths_over_64_characters_are_400_not_an_echoing_404(
    client, admin, method, path
) -> None:
    response = getattr(client, method)(path.format(id=BIG), headers=admin, json={})
    assert "must be at most 64 characters" in small_error(response)
    at_limit = getattr(client, method)(path.format(id="c" * 64), headers=admin, json={})
    assert at_limit.status_code in (200, 404)


def test_long_path_id_without_credentials_is_still_401(client) -> None:
    assert client.get(f"/admin/customers/{BIG}").status_code == 401


def test_store_address_id_over_64_characters(client, registered) -> None:
    _, headers = registered("me@example.com")
    response = client.get(f"/store/customers/me/addresses/{BIG}", headers=headers)
    assert "'address_id' must be at most 64 characters" in small_error(response)


@pytest.mark.parametrize(
    "query",
    [
        f"email={BIG}",
        f"first_name[$like]=%25{BIG}",
        f"email[$in]={','.join(['a'] * 1001)}",
        f"order={BIG}",
        f"order={'a' * 900}",
        f"fields={BIG}",
        f"{BIG}=1",
        f"{BIG}[a][b][c][d][e][f]=1",
        f"{BIG}.a.b=1",
        f"groups[{BIG}]=1",
        f"created_at[$gt]={BIG}",
        f"created_at[$gt]={'y' * 900}",
    ],
)
def test_query_string_errors_are_small(client, admin, query) -> None:
    small_error(client.get(f"/admin/customers?{query}", headers=admin))


def test_query_list_over_1000_items(client, admin) -> None:
    message = small_error(
        client.get("/admin/customers?email[]=" + ",".join(["a"] * 1001), headers=admin)
    )
    assert "Field 'email' must have at most 1000 items" in message


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
def test_non_json_bodies_are_415(client, admin, content_type) -> None:
    headers = {"Authorization": admin["Authorization"]}
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/admin/customers", data='{"first_name": "Ann"}', headers=headers)
    assert response.status_code == 415
    assert response.json == {
        "type": "invalid_data",
        "message": "Request body must be JSON (Content-Type: application/json)",
    }
    assert client.get("/admin/customers", headers=admin).json["count"] == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"],
)
def test_json_content_types_are_accepted(client, admin, content_type) -> None:
    headers = {"Authorization": admin["Authorization"], "Content-Type": content_type}
    response = client.post("/admin/customers", data='{"first_name": "Ann"}', headers=headers)
    assert response.status_code == 200, response.json


def test_empty_bodies_keep_working_whatever_the_content_type(
    client, admin, make_customer, make_group
) -> None:
    customer = make_customer(email="a@example.com")
    group = make_group("g")
    plain = {"Authorization": admin["Authorization"], "Content-Type": "text/plain"}
    assert client.post(f"/admin/customers/{customer['id']}", headers=plain).status_code == 200
    assert client.post(f"/admin/customer-groups/{group['id']}", headers=admin).status_code == 200
    # The JS SDK sends content-type: application/json on GET and DELETE with nothing after it.
    assert client.get(f"/admin/customers/{customer['id']}", headers=admin).status_code == 200
    assert client.delete(f"/admin/customers/{customer['id']}", headers=admin).status_code == 200


def test_store_routes_refuse_non_json_bodies(client, registered, store_headers) -> None:
    headers = {**store_headers(""), "Content-Type": "text/plain"}
    response = client.post("/store/customers", data='{"email": "a@example.com"}', headers=headers)
    assert response.status_code == 415


def test_stored_oversized_values_are_served_and_other_fields_update(
    app, client, admin, mongodb_uri, api_settings
) -> None:
    now = datetime.now(UTC)
    with MongoClient(mongodb_uri) as mongo:
        mongo[api_settings.mongodb_database]["customers"].insert_one(
            {
                "_id": "cus_old",
                "email": "old@example.com",
                "first_name": MB,
                "has_account": False,
                "metadata": {"blob": "m" * 100_000},
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
                "version": 1,
                "addresses": [
                    {"id": "cuaddr_old", "customer_id": "cus_old", "city": MB,
                     "is_default_shipping": False, "is_default_billing": False,
                     "created_at": now, "updated_at": now, "deleted_at": None}
                ],
                "groups": [],
            }
        )  # fmt: skip
    response = client.get("/admin/customers/cus_old?fields=*addresses", headers=admin)
    assert response.status_code == 200
    assert response.json["customer"]["first_name"] == MB
    assert response.json["customer"]["addresses"][0]["city"] == MB
    response = client.post("/admin/customers/cus_old", json={"last_name": "New"}, headers=admin)
    assert response.status_code == 200, response.json
    assert response.json["customer"]["first_name"] == MB
    response = client.post(
        "/admin/customers/cus_old/addresses/cuaddr_old?fields=*addresses",
        json={"address_1": "1 Main St"},
        headers=admin,
    )
    assert response.status_code == 200, response.json
    assert response.json["customer"]["addresses"][0]["city"] == MB
    assert (
        client.get(f"/admin/customers?q=&email={urlquote('old@example.com')}", headers=admin).json[
            "count"
        ]
        == 1
    )
    assert json.loads(response.data)["customer"]["last_name"] == "New"
