"""``POST /admin/customers/{id}/merge[/preview]`` over HTTP, the store token of a merged
customer, and guest linking on registration (``CUSTOMERS_LINK_GUEST_ON_REGISTER``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask

from app import create_app
from app.config import Settings
from app.webapp import close_app, run, runtime_of

ADDR = {"address_1": "1 Main St", "city": "Paris", "postal_code": "75001"}


def merge(client, admin, target, ids, keep=None, *, preview=False, **headers):
    path = f"/admin/customers/{target}/merge" + ("/preview" if preview else "")
    body = {"customer_ids": ids, **({"keep": keep} if keep is not None else {})}
    return client.post(path, json=body, headers={**admin, **headers})


def with_addresses(client, admin, customer, *addresses):
    """``customer`` after adding ``addresses`` (the admin create takes none)."""
    for address in addresses:
        added = client.post(
            f"/admin/customers/{customer['id']}/addresses", json=address, headers=admin
        )
        assert added.status_code == 200, added.json
    read = client.get(f"/admin/customers/{customer['id']}?fields=*addresses", headers=admin)
    return read.json["customer"]


def test_preview_then_merge(client, admin, make_customer, make_group):
    group = make_group("vip")
    target = with_addresses(client, admin, make_customer(email="t@x.com", first_name="Tom"), ADDR)
    source = with_addresses(
        client,
        admin,
        make_customer(email="s@x.com", first_name="Sam", phone="555"),
        ADDR,
        {**ADDR, "city": "Nice"},
    )
    linked = client.post(
        f"/admin/customers/{source['id']}/customer-groups",
        json={"add": [group["id"]]},
        headers=admin,
    )
    assert linked.status_code == 200, linked.json

    preview = merge(client, admin, target["id"], [source["id"]], preview=True)
    assert preview.status_code == 200, preview.json
    body = preview.json
    assert body["merged"] == [{"id": source["id"], "merged_into": target["id"]}]
    assert body["customer"]["phone"] == "555"
    assert {c["field"] for c in body["conflicts"]} >= {"email", "first_name"}
    outcomes = sorted(a["outcome"] for a in body["addresses"])
    assert outcomes == ["collapsed", "kept", "moved"]
    assert [g["id"] for g in body["customer"]["groups"]] == [group["id"]]
    assert "merged_into" not in body["customer"] and "provenance" not in body["customer"]
    # the preview wrote nothing
    assert client.get(f"/admin/customers/{source['id']}", headers=admin).status_code == 200

    done = merge(client, admin, target["id"], [source["id"]], {"first_name": target["id"]})
    assert done.status_code == 200, done.json
    assert done.headers["ETag"]
    assert done.json["customer"]["first_name"] == "Tom"
    assert len(done.json["customer"]["addresses"]) == 2
    assert client.get(f"/admin/customers/{source['id']}", headers=admin).status_code == 404

    again = merge(client, admin, target["id"], [source["id"]])
    assert again.status_code == 200 and again.json["already_merged"] is True
    assert again.json["customer"] == done.json["customer"]


def test_the_index_serves_the_merged_result_at_once(client, admin, make_customer):
    target = make_customer(email="ann@x.com", first_name="Zyxwv")
    source = make_customer(email="other@x.com", first_name="Zyxwv", last_name="Qwertz")
    found = client.get("/admin/customers?q=zyxwv", headers=admin).json
    assert found["count"] == 2
    assert merge(client, admin, target["id"], [source["id"]]).status_code == 200
    listed = client.get("/admin/customers?q=zyxwv", headers=admin).json
    assert [c["id"] for c in listed["customers"]] == [target["id"]]
    moved = client.get("/admin/customers?q=qwertz", headers=admin).json  # the source's value
    assert [c["id"] for c in moved["customers"]] == [target["id"]]
    ranked = client.get("/admin/customers/search?q=zyxwv", headers=admin).json
    assert [h["customer"]["id"] for h in ranked["hits"]] == [target["id"]]


def test_refusals(client, admin, make_customer):
    a = make_customer(email="a@x.com")
    b = make_customer(email="b@x.com")
    into_itself = merge(client, admin, a["id"], [a["id"]])
    assert into_itself.status_code == 400
    assert into_itself.json["type"] == "invalid_data"
    assert "itself" in into_itself.json["message"]
    assert merge(client, admin, "cus_unknown", [b["id"]]).status_code == 404
    assert merge(client, admin, a["id"], ["cus_unknown"]).status_code == 404
    bad_keep = merge(client, admin, a["id"], [b["id"]], {"nickname": a["id"]})
    assert bad_keep.status_code == 400 and "nickname" in bad_keep.json["message"]
    outside = merge(client, admin, a["id"], [b["id"]], {"email": "cus_other"})
    assert outside.status_code == 400 and "keep.email" in outside.json["message"]
    empty = merge(client, admin, a["id"], [])
    assert empty.status_code == 400 and "customer_ids" in empty.json["message"]
    stale = merge(client, admin, a["id"], [b["id"]], **{"If-Match": '"stale"'})
    assert stale.status_code == 412
    assert client.get(f"/admin/customers/{b['id']}", headers=admin).status_code == 200


def test_store_token_of_a_merged_customer_acts_as_the_survivor(
    client, admin, registered, make_customer
):
    source, source_headers = registered("s@x.com")
    target = make_customer(email="t@x.com", first_name="Target")
    assert merge(client, admin, target["id"], [source["id"]]).status_code == 200
    me = client.get("/store/customers/me", headers=source_headers)
    assert me.status_code == 200, me.json
    assert me.json["customer"]["id"] == target["id"]
    assert me.json["customer"]["email"] == "s@x.com"  # the account's email survived
    # and a chain: the survivor merged again
    third = make_customer(email="z@x.com")
    assert (
        merge(client, admin, third["id"], [target["id"]], {"email": target["id"]}).status_code
        == 200
    )
    assert (
        client.get("/store/customers/me", headers=source_headers).json["customer"]["id"]
        == (third["id"])
    )


def test_concurrent_merges_over_http(app, client, admin, make_customer):
    made = [
        with_addresses(client, admin, make_customer(email=f"{n}@x.com"), {**ADDR, "city": n})
        for n in ("a", "b", "c", "d")
    ]
    a, b, c, d = made
    pairs = [(a, b), (c, b), (d, b)]  # one source, three targets: only one merge can win

    def attempt(pair):
        target, source = pair
        with app.test_client() as own:
            return merge(own, admin, target["id"], [source["id"]])

    with ThreadPoolExecutor(len(pairs)) as pool:
        responses = list(pool.map(attempt, pairs))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1 and set(codes) <= {200, 400, 409}, [r.json for r in responses]
    assert all(r.json.get("type") in (None, "invalid_data", "conflict") for r in responses)
    live = client.get("/admin/customers?fields=*addresses", headers=admin).json["customers"]
    assert len(live) == 3
    addresses = [x["id"] for customer in live for x in customer["addresses"]]
    expected = [x["id"] for customer in made for x in customer["addresses"]]
    assert sorted(addresses) == sorted(expected)  # each exactly once, none lost


def test_openapi_documents_the_merge_routes(client):
    spec = client.get("/openapi.json").json
    operation = spec["paths"]["/admin/customers/{customer_id}/merge"]["post"]
    assert {"200", "400", "404", "409", "412"} <= set(operation["responses"])
    assert "/admin/customers/{customer_id}/merge/preview" in spec["paths"]
    keep = spec["components"]["schemas"]["MergeKeep"]["properties"]
    assert {"email", "first_name", "metadata", "default_shipping_address_id"} <= set(keep)
    assert "has_account" not in keep


# --- guests become accounts on registration -------------------------------------------------


@pytest.fixture(scope="module")
def linking_app(api_settings: Settings, index_app: Flask) -> Iterator[Flask]:
    """The app (MongoDB answering lists) with CUSTOMERS_LINK_GUEST_ON_REGISTER on."""
    app = create_app(dataclasses.replace(api_settings, link_guest_on_register=True), search=False)
    app.config["TESTING"] = True
    yield app
    close_app(app)


def test_registration_merges_the_guest_when_on(
    linking_app, index_app, client, admin, store_headers, make_customer
):
    guest = with_addresses(client, admin, make_customer(email="g@x.com", phone="555"), ADDR)
    linking = linking_app.test_client()
    response = linking.post(
        "/store/customers",
        json={"email": "g@x.com", "first_name": "Reg"},
        headers=store_headers(""),
    )
    assert response.status_code == 200, response.json
    customer = response.json["customer"]
    assert customer["phone"] == "555" and customer["first_name"] == "Reg"
    assert [a["id"] for a in customer["addresses"]] == [guest["addresses"][0]["id"]]
    gone = linking.get(f"/admin/customers/{guest['id']}", headers=admin)
    assert gone.status_code == 404

    async def stored():
        database = runtime_of(index_app).service.database
        return await database["customers"].find_one({"_id": guest["id"]})

    assert run(stored(), app=index_app)["merged_into"] == customer["id"]


def test_registration_leaves_the_guest_when_off(client, admin, store_headers, make_customer):
    guest = make_customer(email="g@x.com", phone="555")
    response = client.post("/store/customers", json={"email": "g@x.com"}, headers=store_headers(""))
    assert response.status_code == 200
    assert response.json["customer"]["phone"] is None
    assert client.get(f"/admin/customers/{guest['id']}", headers=admin).status_code == 200
