"""Groups and memberships."""

from __future__ import annotations

import pytest

from app.errors import CustomerModuleError


def error_of(call, *args):
    with pytest.raises(CustomerModuleError) as info:
        call(*args)
    return info.value


def test_create_retrieve_and_unique_live_names(service):
    g = service.create_customer_groups(
        {"name": "VIP", "metadata": {"a": 1}, "created_by": "user_1"}
    )
    assert g.id.startswith("cusgroup_") and g.created_by == "user_1"
    assert service.retrieve_customer_group(g.id).name == "VIP"
    err = error_of(service.create_customer_groups, {"name": "VIP"})
    assert (err.type, err.message) == (
        "invalid_data",
        "Customer group with name: VIP, already exists.",
    )
    assert service.create_customer_groups({"name": "vip"}).name == "vip"  # case-sensitive
    service.soft_delete_customer_groups([g.id])
    assert service.create_customer_groups({"name": "VIP"}).id != g.id
    err = error_of(service.restore_customer_groups, [g.id])
    assert err.message == "Customer group with name: VIP, already exists."


def test_null_name_and_not_found(service):
    assert error_of(service.create_customer_groups, {"name": None}).message == (
        "Cannot set field 'name' of Customer group to null"
    )
    assert error_of(service.retrieve_customer_group, "cusgroup_x").message == (
        "CustomerGroup with id: cusgroup_x was not found"
    )
    assert error_of(service.update_customer_groups, "cusgroup_x", {"name": "n"}).message == (
        'CustomerGroup with id "cusgroup_x" not found'
    )


def test_update_and_list(service):
    a, b = service.create_customer_groups([{"name": "First group"}, {"name": "Second"}])
    assert service.update_customer_groups(a.id, {"metadata": {"x": 1}}).metadata == {"x": 1}
    assert [g.name for g in service.list_customer_groups({"q": "fir"})] == ["First group"]
    renamed = service.update_customer_groups({"name": "Second"}, {"name": "Deuxième"})
    assert [g.name for g in renamed] == ["Deuxième"]
    err = error_of(service.update_customer_groups, b.id, {"name": "First group"})
    assert err.message == "Customer group with name: First group, already exists."
    assert service.list_and_count_customer_groups({}, {"order": {"name": "ASC"}})[1] == 2


def test_membership_is_a_set(service):
    c = service.create_customers({})
    g = service.create_customer_groups({"name": "G"})
    pair = {"customer_id": c.id, "customer_group_id": g.id}
    first = service.add_customer_to_group(pair)
    again = service.add_customer_to_group([pair])
    assert first.id.startswith("cusgc_") and [m.id for m in again] == [first.id]
    assert service.list_and_count_customer_group_customers({"customer_group_id": g.id})[1] == 1
    results = service.gather(*(service.aio.add_customer_to_group(pair) for _ in range(20)))
    assert {r.id for r in results} == {first.id}
    assert len(service.list_customer_group_customers({"customer_id": c.id})) == 1


def test_concurrent_adds_of_one_new_pair_create_one_membership(service):
    c = service.create_customers({})
    g = service.create_customer_groups({"name": "G"})
    pair = {"customer_id": c.id, "customer_group_id": g.id}
    results = service.gather(*(service.aio.add_customer_to_group(pair) for _ in range(20)))
    assert len({r.id for r in results}) == 1
    assert len(service.retrieve_customer(c.id, {"relations": ["groups"]}).groups) == 1


def test_concurrent_batch_adds_keep_memberships_a_set(service):
    """Overlapping batches racing (one bulk write each): every pair once, one id per pair,
    and every call returns the membership that was kept."""
    customers = service.create_customers([{"email": f"{i}@x.com"} for i in range(6)])
    groups = service.create_customer_groups([{"name": f"G{i}"} for i in range(3)])
    pairs = [{"customer_id": c.id, "customer_group_id": g.id} for c in customers for g in groups]
    batches = [pairs[i::2] + pairs[: i + 5] for i in range(8)]  # overlapping, with repeats
    results = service.gather(*(service.aio.add_customer_to_group(b) for b in batches))
    assert not [r for r in results if isinstance(r, Exception)]
    stored = {
        c.id: service.retrieve_customer(c.id, {"relations": ["groups"]}).groups for c in customers
    }
    assert all(len(groups_of) == 3 for groups_of in stored.values())
    kept = {
        (m.customer_id, m.customer_group_id): m.id
        for m in service.list_customer_group_customers({}, {"take": 100})
    }
    assert len(kept) == len(pairs) == len(set(kept.values()))
    for batch, returned in zip(batches, results, strict=True):
        assert [kept[(p["customer_id"], p["customer_group_id"])] for p in batch] == [
            m.id for m in returned
        ]


def test_a_batch_with_an_unknown_customer_adds_nothing(service):
    c = service.create_customers({})
    g = service.create_customer_groups({"name": "G"})
    pairs = [
        {"customer_id": c.id, "customer_group_id": g.id},
        {"customer_id": "cus_x", "customer_group_id": g.id},
    ]
    err = error_of(service.add_customer_to_group, pairs)
    assert err.message.startswith("You tried to set relationship customer_id: cus_x")
    assert service.list_customer_group_customers({"customer_group_id": g.id}) == []


def test_unknown_ids_in_pairs(service):
    c = service.create_customers({})
    g = service.create_customer_groups({"name": "G"})
    err = error_of(
        service.add_customer_to_group, {"customer_id": c.id, "customer_group_id": "cusgroup_x"}
    )
    assert (
        err.message
        == "You tried to set relationship customer_group_id: cusgroup_x, but such entity does not exist"
    )
    err = error_of(
        service.add_customer_to_group, {"customer_id": "cus_x", "customer_group_id": g.id}
    )
    assert (
        err.message
        == "You tried to set relationship customer_id: cus_x, but such entity does not exist"
    )


def test_remove_and_relations(service):
    c1, c2 = service.create_customers([{"email": "1@x.com"}, {"email": "2@x.com"}])
    g = service.create_customer_groups({"name": "G"})
    service.add_customer_to_group(
        [{"customer_id": c.id, "customer_group_id": g.id} for c in (c1, c2)]
    )
    members = service.retrieve_customer_group(g.id, {"relations": ["customers"]}).customers
    assert [m.id for m in members] == [c1.id, c2.id]
    service.remove_customer_from_group([{"customer_id": c1.id, "customer_group_id": g.id}])
    service.remove_customer_from_group({"customer_id": c1.id, "customer_group_id": g.id})  # no-op
    empty = service.create_customer_groups({"name": "Empty"})
    assert service.retrieve_customer_group(empty.id, {"relations": ["customers"]}).customers == []
    listed = service.list_customer_group_customers(
        {"customer_group_id": g.id}, {"relations": ["customer"]}
    )
    assert [m.customer.id for m in listed] == [c2.id]


def test_soft_deletes_hide_memberships_and_restores_bring_them_back(service):
    c = service.create_customers({})
    g = service.create_customer_groups({"name": "G"})
    service.add_customer_to_group({"customer_id": c.id, "customer_group_id": g.id})
    service.soft_delete_customer_groups([g.id])
    assert service.retrieve_customer(c.id, {"relations": ["groups"]}).groups == []
    assert service.list_customer_group_customers({"customer_id": c.id}) == []
    service.restore_customer_groups([g.id])
    assert [x.id for x in service.retrieve_customer(c.id, {"relations": ["groups"]}).groups] == [
        g.id
    ]
    service.soft_delete_customers([c.id])
    assert service.retrieve_customer_group(g.id, {"relations": ["customers"]}).customers == []
    service.restore_customers([c.id])
    assert len(service.retrieve_customer_group(g.id, {"relations": ["customers"]}).customers) == 1


def test_hard_delete_of_a_group_removes_its_memberships(service):
    c = service.create_customers({})
    g, h = service.create_customer_groups([{"name": "G"}, {"name": "H"}])
    service.add_customer_to_group(
        [{"customer_id": c.id, "customer_group_id": x.id} for x in (g, h)]
    )
    service.delete_customer_groups(g.id)
    assert error_of(service.retrieve_customer_group, g.id).type == "not_found"
    assert [
        m.customer_group_id for m in service.list_customer_group_customers({"customer_id": c.id})
    ] == [h.id]
    raw = service.run(service.aio.store.customers.find_one({"_id": c.id}))
    assert [m["customer_group_id"] for m in raw["groups"]] == [h.id]
