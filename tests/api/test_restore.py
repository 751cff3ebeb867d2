"""``POST /admin/customers/{id}/restore``: our extension (Medusa has no restore route)."""

from __future__ import annotations


def test_restore_brings_back_the_customer_and_its_addresses(client, admin, make_customer):
    customer = make_customer(email="back@example.com")
    path = f"/admin/customers/{customer['id']}/addresses"
    assert client.post(path, json={"city": "Lyon"}, headers=admin).status_code == 200
    assert client.delete(f"/admin/customers/{customer['id']}", headers=admin).status_code == 200
    assert client.get(f"/admin/customers/{customer['id']}", headers=admin).status_code == 404

    response = client.post(
        f"/admin/customers/{customer['id']}/restore?fields=email,*addresses", headers=admin
    )
    assert response.status_code == 200, response.json
    restored = response.json["customer"]
    assert restored["email"] == "back@example.com"
    assert [a["city"] for a in restored["addresses"]] == ["Lyon"]
    assert "deleted_at" not in restored  # ``fields`` shaped the answer
    again = client.get(f"/admin/customers/{customer['id']}", headers=admin)
    assert again.status_code == 200 and again.json["customer"]["deleted_at"] is None


def test_restoring_a_live_customer_answers_it_unchanged(client, admin, make_customer):
    customer = make_customer(email="live@example.com")
    response = client.post(f"/admin/customers/{customer['id']}/restore", headers=admin)
    assert response.status_code == 200
    assert response.json["customer"] == customer


def test_restore_of_an_unknown_id_is_404(client, admin):
    response = client.post("/admin/customers/cus_nobody/restore", headers=admin)
    assert response.status_code == 404
    assert response.json == {
        "type": "not_found",
        "message": "Customer with id: cus_nobody not found",
    }


def test_restore_needs_credentials(client):
    assert client.post("/admin/customers/cus_x/restore").status_code == 401
