"""/admin/customer-groups."""

from __future__ import annotations

GROUP_KEYS = {"id", "name", "metadata", "created_by", "created_at", "updated_at", "deleted_at"}


def test_create_list_retrieve(client, admin, make_group):
    group = make_group("First group", metadata={"a": 1})
    assert set(group) == GROUP_KEYS
    assert group["created_by"].startswith("apk_")
    make_group("Second")
    body = client.get("/admin/customer-groups?q=fir", headers=admin).json
    assert [g["name"] for g in body["customer_groups"]] == ["First group"]
    assert body["count"] == 1 and body["limit"] == 50 and body["offset"] == 0
    body = client.get("/admin/customer-groups?name[]=Second", headers=admin).json
    assert body["count"] == 1
    response = client.get(f"/admin/customer-groups/{group['id']}?fields=*customers", headers=admin)
    assert response.json["customer_group"]["customers"] == []


def test_duplicate_name_is_400_and_missing_name_is_required(client, admin, make_group):
    make_group("VIP")
    response = client.post("/admin/customer-groups", json={"name": "VIP"}, headers=admin)
    assert response.status_code == 400
    assert response.json == {
        "type": "invalid_data",
        "message": "Customer group with name: VIP, already exists.",
    }
    response = client.post("/admin/customer-groups", json={}, headers=admin)
    assert response.json["message"] == "Invalid request: Field 'name' is required"


def test_not_found_messages(client, admin):
    response = client.get("/admin/customer-groups/cusgroup_x", headers=admin)
    assert response.status_code == 404
    assert response.json["message"] == "Customer group with id: cusgroup_x not found"
    response = client.post("/admin/customer-groups/cusgroup_x", json={"name": "n"}, headers=admin)
    assert response.status_code == 404
    assert response.json["message"] == 'Customer group with id "cusgroup_x" not found'
    assert client.delete("/admin/customer-groups/cusgroup_x", headers=admin).status_code == 404
    response = client.post(
        "/admin/customer-groups/cusgroup_x/customers", json={"add": ["cus_1"]}, headers=admin
    )
    assert response.status_code == 404
    assert response.json["message"] == (
        "You tried to set relationship customer_group_id: cusgroup_x, "
        "but such entity does not exist"
    )


def test_update_and_soft_delete(client, admin, make_group, make_customer):
    group = make_group("Old", metadata={"a": 1, "b": 2})
    response = client.post(
        f"/admin/customer-groups/{group['id']}",
        json={"name": "New", "metadata": {"b": ""}},
        headers=admin,
    )
    assert response.json["customer_group"]["name"] == "New"
    assert response.json["customer_group"]["metadata"] == {"a": 1}
    customer = make_customer()
    client.post(
        f"/admin/customer-groups/{group['id']}/customers",
        json={"add": [customer["id"]]},
        headers=admin,
    )
    response = client.delete(f"/admin/customer-groups/{group['id']}", headers=admin)
    assert response.json == {"id": group["id"], "object": "customer_group", "deleted": True}
    body = client.get(f"/admin/customers/{customer['id']}?fields=*groups", headers=admin).json
    assert body["customer"]["groups"] == []
    # the name can be reused after a soft delete
    assert (
        client.post("/admin/customer-groups", json={"name": "New"}, headers=admin).status_code
        == 200
    )


def test_batch_customers_is_a_set(client, admin, make_group, make_customer):
    group = make_group("G")
    a, b = make_customer(), make_customer()
    url = f"/admin/customer-groups/{group['id']}/customers?fields=*customers"
    response = client.post(url, json={"add": [a["id"], b["id"], a["id"]]}, headers=admin)
    assert response.status_code == 200
    assert sorted(c["id"] for c in response.json["customer_group"]["customers"]) == sorted(
        [a["id"], b["id"]]
    )
    response = client.post(url, json={"add": [a["id"]], "remove": [b["id"]]}, headers=admin)
    assert [c["id"] for c in response.json["customer_group"]["customers"]] == [a["id"]]
    response = client.post(url, json={"add": ["cus_nope"]}, headers=admin)
    assert response.status_code == 404
    response = client.post(url, json={"add": "cus_x"}, headers=admin)
    assert response.json["message"] == (
        "Invalid request: Expected type: 'array' for field 'add', got: 'string'"
    )


def test_filter_groups_by_customers(client, admin, make_group, make_customer):
    group, other = make_group("With"), make_group("Without")
    customer = make_customer(email="member@example.com")
    client.post(
        f"/admin/customer-groups/{group['id']}/customers",
        json={"add": [customer["id"]]},
        headers=admin,
    )

    def names(query: str) -> list[str]:
        response = client.get(f"/admin/customer-groups?{query}", headers=admin)
        assert response.status_code == 200, response.json
        return [g["name"] for g in response.json["customer_groups"]]

    assert names(f"customers={customer['id']}") == ["With"]
    assert names(f"customers[0]={customer['id']}") == ["With"]
    assert names(f"customers[id][0]={customer['id']}") == ["With"]
    assert names("customers[email]=member@example.com") == ["With"]
    assert names(f"id[]={other['id']}") == ["Without"]
    assert names("order=-name") == ["Without", "With"]
