"""/admin/customers through the Flask test client (lists on both paths: index and MongoDB)."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

from app.service.admission import SearchGate
from tests.api.conftest import BOTH_PATHS

CUSTOMER_KEYS = {
    "id", "email", "company_name", "first_name", "last_name", "phone", "metadata",
    "has_account", "created_by", "created_at", "updated_at", "deleted_at",
}  # fmt: skip


def test_create_returns_guest_with_created_by_and_normalised_email(client, admin, api_key):
    response = client.post(
        "/admin/customers",
        json={"email": " Ann@Example.COM ", "first_name": "Ann", "metadata": {"a": 1}},
        headers=admin,
    )
    assert response.status_code == 200
    customer = response.json["customer"]
    assert set(customer) == CUSTOMER_KEYS
    assert customer["email"] == "ann@example.com"
    assert customer["has_account"] is False
    assert customer["created_by"].startswith("apk_")
    assert customer["id"].startswith("cus_")


def test_create_rejects_has_account_and_unknown_fields(client, admin):
    response = client.post("/admin/customers", json={"has_account": True, "x": 1}, headers=admin)
    assert response.status_code == 400
    assert response.json == {
        "type": "invalid_data",
        "message": "Invalid request: Unrecognized fields: 'has_account, x'",
    }


def test_duplicate_guest_email_is_400(client, admin, make_customer):
    make_customer(email="dup@example.com")
    response = client.post("/admin/customers", json={"email": "DUP@example.com"}, headers=admin)
    assert response.status_code == 400
    assert response.json["message"] == (
        "Customer with email: dup@example.com, has_account: false, already exists."
    )


def test_retrieve_with_fields(client, admin, make_customer):
    customer = make_customer(email="f@example.com", first_name="F")
    response = client.get(f"/admin/customers/{customer['id']}?fields=email", headers=admin)
    assert response.json == {"customer": {"id": customer["id"], "email": "f@example.com"}}
    response = client.get(
        f"/admin/customers/{customer['id']}?fields=*addresses,*groups", headers=admin
    )
    body = response.json["customer"]
    assert body["addresses"] == [] and body["groups"] == []
    assert set(body) == CUSTOMER_KEYS | {"addresses", "groups"}


def test_retrieve_unknown_is_404_with_medusa_message(client, admin):
    response = client.get("/admin/customers/cus_nope", headers=admin)
    assert response.status_code == 404
    assert response.json == {"type": "not_found", "message": "Customer with id: cus_nope not found"}


def test_update_merges_metadata_and_404s_unknown(client, admin, make_customer):
    customer = make_customer(metadata={"keep": 1, "drop": 2})
    response = client.post(
        f"/admin/customers/{customer['id']}",
        json={"last_name": "Doe", "metadata": {"drop": "", "new": True}},
        headers=admin,
    )
    assert response.status_code == 200
    assert response.json["customer"]["last_name"] == "Doe"
    assert response.json["customer"]["metadata"] == {"keep": 1, "new": True}
    response = client.post("/admin/customers/cus_nope", json={"last_name": "x"}, headers=admin)
    assert response.status_code == 404
    assert response.json["message"] == 'Customer with id "cus_nope" not found'


def test_delete_is_soft_and_unknown_is_404(client, admin, make_customer):
    customer = make_customer(email="gone@example.com")
    response = client.delete(f"/admin/customers/{customer['id']}", headers=admin)
    assert response.json == {"id": customer["id"], "object": "customer", "deleted": True}
    assert client.get(f"/admin/customers/{customer['id']}", headers=admin).status_code == 404
    listed = client.get("/admin/customers?with_deleted=true", headers=admin).json
    assert [c["id"] for c in listed["customers"]] == [customer["id"]]
    assert listed["customers"][0]["deleted_at"] is not None
    assert client.delete(f"/admin/customers/{customer['id']}", headers=admin).status_code == 404
    # the email is free again for a new guest
    assert (
        client.post(
            "/admin/customers", json={"email": "gone@example.com"}, headers=admin
        ).status_code
        == 200
    )


@BOTH_PATHS
def test_list_paging_order_and_shape(client, admin, make_customer):
    ids = [make_customer(first_name=f"n{i}")["id"] for i in range(5)]
    body = client.get("/admin/customers?limit=2&offset=1", headers=admin).json
    assert set(body) == {"customers", "count", "offset", "limit"}
    assert (body["count"], body["offset"], body["limit"]) == (5, 1, 2)
    assert [c["id"] for c in body["customers"]] == ids[1:3]
    body = client.get("/admin/customers?order=-created_at", headers=admin).json
    assert [c["id"] for c in body["customers"]] == ids[::-1]
    assert client.get("/admin/customers", headers=admin).json["limit"] == 50


@BOTH_PATHS
def test_limit_cap(client, admin, make_customer):
    make_customer()
    assert client.get("/admin/customers?limit=1000", headers=admin).status_code == 200
    body = client.get("/admin/customers?limit=0", headers=admin).json
    assert (body["customers"], body["count"], body["limit"]) == ([], 1, 0)
    response = client.get("/admin/customers?limit=1001", headers=admin)
    assert response.status_code == 400
    assert response.json["message"] == (
        "Invalid request: Value for field 'limit' too big, expected at most: '1000'"
    )


def test_order_on_unknown_field_is_400(client, admin):
    response = client.get("/admin/customers?order=-nope", headers=admin)
    assert response.status_code == 400
    assert response.json["message"] == "Order field nope is not valid"


@BOTH_PATHS
def test_filters_in_every_qs_format(client, admin, make_customer, make_group):
    ann = make_customer(email="ann@example.com", first_name="Ann", last_name="Doe")
    bob = make_customer(email="bob@example.com", first_name="Bob", last_name="James")
    make_customer(email="cy@example.com", first_name="Cy")
    vip, other = make_group("VIP"), make_group("Other")
    client.post(
        f"/admin/customer-groups/{vip['id']}/customers",
        json={"add": [ann["id"], bob["id"]]},
        headers=admin,
    )
    client.post(
        f"/admin/customer-groups/{other['id']}/customers", json={"add": [bob["id"]]}, headers=admin
    )

    def ids(query: str) -> list[str]:
        response = client.get(f"/admin/customers?{query}", headers=admin)
        assert response.status_code == 200, response.json
        return [c["id"] for c in response.json["customers"]]

    both = [ann["id"], bob["id"]]
    assert ids(f"groups[0]={vip['id']}") == both
    assert ids(f"groups[]={vip['id']}") == both
    assert ids(f"groups={vip['id']}") == both
    assert ids(f"groups[id][0]={other['id']}") == [bob["id"]]
    assert ids(f"groups[0]={vip['id']}&groups[1]={other['id']}") == both
    assert ids("email=bob@example.com") == [bob["id"]]
    assert ids("email[0]=bob@example.com&email[1]=ann@example.com") == both
    assert ids(urlencode({"$or[0][email]": "ann@example.com", "$or[1][first_name]": "Cy"})) == [
        ann["id"], ids("first_name=Cy")[0],
    ]  # fmt: skip
    assert ids("q=do") == [ann["id"]]
    assert ids("q=ann%20doe") == [ann["id"]]
    assert ids("has_account=false") == ids("")
    assert ids("has_account=TRUE") == []
    assert ids("created_at[$gt]=2000-01-01T00:00:00Z&limit=1") == [ann["id"]]
    assert ids("created_at[$lt]=2000-01-01") == []
    assert ids(f"id[$in][0]={bob['id']}") == [bob["id"]]


def test_customer_groups_batch(client, admin, make_customer, make_group):
    customer = make_customer()
    a, b = make_group("A"), make_group("B")
    url = f"/admin/customers/{customer['id']}/customer-groups?fields=*groups"
    response = client.post(url, json={"add": [a["id"], b["id"]]}, headers=admin)
    assert response.status_code == 200
    assert sorted(g["id"] for g in response.json["customer"]["groups"]) == sorted(
        [a["id"], b["id"]]
    )
    response = client.post(url, json={"add": [a["id"]], "remove": [b["id"]]}, headers=admin)
    assert [g["id"] for g in response.json["customer"]["groups"]] == [a["id"]]
    response = client.post(url, json={"add": ["cusgroup_nope"]}, headers=admin)
    assert response.status_code == 404
    assert response.json["message"] == (
        "You tried to set relationship customer_group_id: cusgroup_nope, "
        "but such entity does not exist"
    )
    assert (
        client.post(
            "/admin/customers/cus_nope/customer-groups", json={"add": [a["id"]]}, headers=admin
        ).status_code
        == 404
    )


def test_get_and_delete_ignore_json_content_type_without_body(client, admin, make_customer):
    customer = make_customer()
    headers = {**admin, "Content-Type": "application/json"}
    assert client.get("/admin/customers", headers=headers).status_code == 200
    assert (
        client.get(f"/admin/customers/{customer['id']}", headers=headers, data="").status_code
        == 200
    )
    response = client.delete(
        f"/admin/customers/{customer['id']}", headers=headers, data="{not json"
    )
    assert response.status_code == 200


def test_a_request_arrival_does_not_outlive_the_request(client, admin) -> None:
    """The budget's start is scoped to its request: later work in the same thread (here a
    service call after a request of the Flask test client) counts from its own start."""
    assert client.get("/admin/customers", headers=admin).status_code == 200
    time.sleep(0.6)

    async def quick() -> str:
        await asyncio.sleep(0.05)
        return "done"

    assert asyncio.run(SearchGate(concurrency=1, budget=0.5).search(quick)) == "done"
