"""``ETag`` on one customer, address or group; ``If-Match`` on their updates and deletes."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

STRONG = re.compile(r'^"[A-Za-z0-9_-]{22}"$')
RACERS = 8


def etag(response) -> str:
    assert response.status_code == 200, response.json
    value = response.headers["ETag"]
    assert STRONG.match(value), value
    return value


def with_tag(admin: dict[str, str], value: str) -> dict[str, str]:
    return {**admin, "If-Match": value}


@pytest.fixture
def customer(make_customer) -> dict:
    return make_customer(email="tagged@example.com", first_name="Yvette")


def test_a_customer_tag_changes_with_its_own_fields_only(client, admin, customer, make_group):
    path = f"/admin/customers/{customer['id']}"
    first = etag(client.get(path, headers=admin))
    assert etag(client.get(f"{path}?fields=email,*addresses", headers=admin)) == first
    assert client.post(f"{path}/addresses", json={"city": "Lyon"}, headers=admin).status_code == 200
    address_id = client.get(f"{path}/addresses", headers=admin).json["addresses"][0]["id"]
    client.post(f"{path}/addresses/{address_id}", json={"city": "Nice"}, headers=admin)
    group = make_group("Tagged")
    client.post(f"{path}/customer-groups", json={"add": [group["id"]]}, headers=admin)
    client.delete(f"{path}/addresses/{address_id}", headers=admin)
    assert etag(client.get(path, headers=admin)) == first
    updated = client.post(path, json={"company_name": "Acme"}, headers=with_tag(admin, first))
    assert etag(updated) == etag(client.get(path, headers=admin)) != first


def test_create_and_restore_answer_the_tag_a_read_gives(client, admin):
    created = client.post("/admin/customers", json={"email": "new@example.com"}, headers=admin)
    path = f"/admin/customers/{created.json['customer']['id']}"
    assert etag(created) == etag(client.get(path, headers=admin))
    deleted_with = with_tag(admin, etag(created))
    assert client.delete(path, headers=deleted_with).status_code == 200
    restored = client.post(f"{path}/restore", headers=admin)
    # the same fields as before the delete: the same tag (it names a state, not a history)
    assert etag(restored) == etag(client.get(path, headers=admin)) == etag(created)


def test_a_stale_tag_is_412_and_writes_nothing(client, admin, customer):
    path = f"/admin/customers/{customer['id']}"
    stale = etag(client.get(path, headers=admin))
    assert client.post(path, json={"first_name": "Yvonne"}, headers=admin).status_code == 200
    for response in (
        client.post(path, json={"company_name": "Mine"}, headers=with_tag(admin, stale)),
        client.delete(path, headers=with_tag(admin, stale)),
        client.post(path, json={"company_name": "Mine"}, headers=with_tag(admin, f"W/{stale}")),
    ):
        assert response.status_code == 412
        assert response.json == {
            "type": "precondition_failed",
            "message": f"Customer with id: {customer['id']} was changed since it was read "
            "(If-Match does not match its ETag); read it again and retry",
        }
        assert "ETag" not in response.headers
    stored = client.get(path, headers=admin).json["customer"]
    assert (stored["first_name"], stored["company_name"]) == ("Yvonne", None)


def test_matching_tags_any_tag_and_lists(client, admin, customer):
    path = f"/admin/customers/{customer['id']}"
    current = etag(client.get(path, headers=admin))
    listed = with_tag(admin, f'"nope", {current}')
    current = etag(client.post(path, json={"last_name": "A"}, headers=listed))
    current = etag(client.post(path, json={"last_name": "B"}, headers=with_tag(admin, "*")))
    assert client.post(path, json={}, headers=with_tag(admin, current)).status_code == 200
    assert client.delete(path, headers=with_tag(admin, "*")).status_code == 200
    gone = client.post(path, json={"last_name": "C"}, headers=with_tag(admin, "*"))
    assert gone.status_code == 404


def test_an_address_has_its_own_tag(client, admin, customer):
    base = f"/admin/customers/{customer['id']}/addresses"
    created = client.post(base, json={"city": "Lyon"}, headers=admin)
    addresses = client.get(base, headers=admin).json["addresses"]
    path = f"{base}/{addresses[0]['id']}"
    first = etag(client.get(path, headers=admin))
    assert etag(created) == first  # the answer is the customer, the tag the address's
    other = client.post(base, json={"city": "Nice"}, headers=admin)
    client.post(f"/admin/customers/{customer['id']}", json={"last_name": "Z"}, headers=admin)
    assert etag(client.get(path, headers=admin)) == first != etag(other)

    stale = client.post(path, json={"city": "Paris"}, headers=with_tag(admin, '"stale"'))
    assert stale.status_code == 412
    assert stale.json["message"].startswith(f"Customer address with id: {addresses[0]['id']} ")
    assert client.delete(path, headers=with_tag(admin, '"stale"')).status_code == 412
    assert client.post(path, json={}, headers=with_tag(admin, '"stale"')).status_code == 412
    assert client.get(path, headers=admin).json["address"]["city"] == "Lyon"
    changed = client.post(path, json={"city": "Paris"}, headers=with_tag(admin, first))
    assert etag(changed) == etag(client.get(path, headers=admin)) != first
    deleted = client.delete(path, headers=with_tag(admin, etag(changed)))
    assert deleted.status_code == 200 and deleted.json["deleted"] is True
    missing = client.post(f"{base}/addr_nope", json={"city": "X"}, headers=with_tag(admin, first))
    assert missing.status_code == 404


def test_a_group_has_a_tag_and_takes_if_match(client, admin, make_group):
    group = make_group("Gold")
    path = f"/admin/customer-groups/{group['id']}"
    first = etag(client.get(path, headers=admin))
    stale = client.post(path, json={"name": "Platinum"}, headers=with_tag(admin, '"stale"'))
    assert stale.status_code == 412 and stale.json["type"] == "precondition_failed"
    renamed = client.post(path, json={"name": "Platinum"}, headers=with_tag(admin, first))
    assert etag(renamed) == etag(client.get(path, headers=admin)) != first
    assert client.delete(path, headers=with_tag(admin, first)).status_code == 412
    assert client.delete(path, headers=with_tag(admin, etag(renamed))).status_code == 200


def test_two_admins_with_one_tag_exactly_one_wins(app, admin, customer):
    path = f"/admin/customers/{customer['id']}"
    current = etag(app.test_client().get(path, headers=admin))

    def save(i: int) -> int:
        body = {"company_name": f"Company {i}"}
        return app.test_client().post(path, json=body, headers=with_tag(admin, current)).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = sorted(pool.map(save, range(RACERS)))
    assert statuses == [200] + [412] * (RACERS - 1)


def test_membership_routes_ignore_if_match(client, admin, customer, make_group):
    group = make_group("Members")
    stale = with_tag(admin, '"stale"')
    linked = client.post(
        f"/admin/customers/{customer['id']}/customer-groups",
        json={"add": [group["id"]]},
        headers=stale,
    )
    assert linked.status_code == 200
    members = client.post(
        f"/admin/customer-groups/{group['id']}/customers",
        json={"remove": [customer["id"]]},
        headers=stale,
    )
    assert members.status_code == 200
