"""Merging customers through the service (real SecantusDB): survivorship, addresses,
memberships, metadata, limits, refusals, idempotence, concurrency and guest linking."""

from __future__ import annotations

from typing import Any

import pytest

from app.entities import CUSTOMER
from app.errors import CustomerModuleError
from app.limits import MAX_ADDRESSES
from app.service.etags import etag_of

ADDR = {"address_1": "1 Main St", "city": "Paris", "postal_code": "75001", "country_code": "fr"}


def error_of(call, *args, **kwargs) -> CustomerModuleError:
    with pytest.raises(CustomerModuleError) as info:
        call(*args, **kwargs)
    return info.value


def raw(service, customer_id: str) -> dict:
    return service.run(service.store.customers.find_one({"_id": customer_id}))


def snapshot(service) -> list[dict]:
    return service.run(service.store.customers.find({}).sort("_id", 1).to_list())


def account(service, email: str, identity: str, **data) -> str:
    return service.create_customer_account({"email": email, **data}, identity).id


def all_address_ids(service) -> list[str]:
    """Every address id stored in any customer document (ids must stay unique)."""
    return [a["id"] for doc in snapshot(service) for a in doc.get("addresses", [])]


# --- survivorship ----------------------------------------------------------------------------


def test_account_beats_guest_then_most_recent_non_empty_value(service):
    guest = service.create_customers(
        {"email": "ann@x.com", "first_name": "Annie", "phone": "+49 30 1234567"}
    )
    acc = account(service, "ann@x.com", "authid_1", first_name="Ann", company_name=None)
    other = service.create_customers(
        {"email": "old@x.com", "company_name": "Old Co", "last_name": "Doe"}
    )
    service.update_customers(other.id, {"company_name": "New Co"})  # most recently updated

    result = service.merge_customers(guest.id, [acc, other.id])

    customer = result.customer
    assert customer.id == guest.id
    assert customer.has_account is True
    assert customer.first_name == "Ann"  # account beats guest
    assert customer.email == "ann@x.com"  # the account's (beats the newer guest)
    assert customer.phone == "+49 30 1234567"  # the only non-empty value survives
    assert customer.company_name == "New Co"
    assert customer.last_name == "Doe"
    conflicts = {c.field: c for c in result.conflicts}
    assert conflicts["first_name"].winner == acc
    assert conflicts["first_name"].rule == "account beats guest"
    assert {v.value for v in conflicts["first_name"].values} == {"Ann", "Annie"}
    assert conflicts["email"].winner == acc
    assert "phone" not in conflicts and "company_name" not in conflicts
    assert raw(service, guest.id)["phone_digits"] == "49301234567"


def test_most_recently_updated_wins_among_guests(service):
    a = service.create_customers({"email": "a@x.com", "first_name": "Old"})
    b = service.create_customers({"email": "b@x.com", "first_name": "Older"})
    service.update_customers(b.id, {"first_name": "Newest"})
    result = service.merge_customers(a.id, [b.id])
    assert result.customer.first_name == "Newest"
    assert result.customer.email == "b@x.com"
    (conflict,) = [c for c in result.conflicts if c.field == "first_name"]
    assert (conflict.winner, conflict.rule) == (b.id, "most recently updated")


def test_keep_overrides_the_rules(service):
    a = service.create_customers({"email": "a@x.com", "first_name": "Al", "metadata": {"k": 1}})
    b = service.create_customers({"email": "b@x.com", "first_name": "Bo", "metadata": {"k": 2}})
    service.update_customers(b.id, {"last_name": "B"})
    keep = {"email": a.id, "first_name": a.id, "last_name": a.id, "metadata": b.id}
    result = service.merge_customers(a.id, [b.id], keep)
    assert result.customer.email == "a@x.com"
    assert result.customer.first_name == "Al"
    assert result.customer.last_name is None  # kept as a's, though empty
    assert result.customer.metadata == {"k": 2}
    rules = {c.field: c.rule for c in result.conflicts}
    assert rules["first_name"] == "keep" and rules["email"] == "keep"
    (meta,) = result.metadata_conflicts
    assert meta.key == "k" and meta.winner == b.id


def test_two_accounts_need_keep_email(service):
    a = account(service, "a@x.com", "authid_a")
    b = account(service, "b@x.com", "authid_b")
    err = error_of(service.merge_customers, a, [b])
    assert err.type == "invalid_data" and "keep.email" in err.message
    assert "a@x.com" not in err.message  # ids, never customer data
    result = service.merge_customers(a, [b], {"email": b})
    assert result.customer.email == "b@x.com" and result.customer.has_account


# --- addresses, defaults, memberships, metadata ------------------------------------------------


def test_address_union_collapses_exact_duplicates_and_moves_the_rest(service):
    target = service.create_customers({"email": "t@x.com", "addresses": [ADDR]})
    source = service.create_customers(
        {
            "email": "s@x.com",
            "addresses": [dict(ADDR), {**ADDR, "address_1": "2 Side St"}],
        }
    )
    same, other = [a.id for a in source.addresses]
    result = service.merge_customers(target.id, [source.id])

    ids = sorted(a.id for a in result.customer.addresses)
    assert ids == sorted([target.addresses[0].id, other])
    outcomes = {o.id: o for o in result.addresses}
    assert outcomes[same].outcome == "collapsed"
    assert outcomes[same].collapsed_into == target.addresses[0].id
    assert outcomes[other].outcome == "moved" and outcomes[other].from_customer_id == source.id
    moved = next(a for a in raw(service, target.id)["addresses"] if a["id"] == other)
    assert moved["customer_id"] == target.id
    left = raw(service, source.id)["addresses"]
    assert [a["id"] for a in left] == [same]  # the moved one left the source
    assert left[0]["deleted_at"] is not None
    ids = all_address_ids(service)
    assert len(ids) == len(set(ids))
    # the address lookups see the moved address under its new owner
    (found,) = service.list_customer_addresses({"id": other})
    assert found.customer_id == target.id


def test_defaults_come_from_the_target_unless_keep_says_otherwise(service):
    target = service.create_customers(
        {"email": "t@x.com", "addresses": [{**ADDR, "is_default_shipping": True}]}
    )
    source = service.create_customers(
        {
            "email": "s@x.com",
            "addresses": [
                {**ADDR, "address_1": "9 Elm", "is_default_shipping": True},
                {**ADDR, "address_1": "8 Oak", "is_default_billing": True},
            ],
        }
    )
    shipping_t = target.addresses[0].id
    elm, oak = [a.id for a in source.addresses]
    preview = service.preview_customer_merge(target.id, [source.id])
    assert preview.default_shipping_address_id == shipping_t  # the target's
    assert preview.default_billing_address_id == oak  # the target had none: the source's
    result = service.merge_customers(target.id, [source.id], {"default_shipping_address_id": elm})
    flags = {a.id: (a.is_default_shipping, a.is_default_billing) for a in result.customer.addresses}
    assert flags == {shipping_t: (False, False), elm: (True, False), oak: (False, True)}


def test_keep_must_name_the_merged_customers_and_their_addresses(service):
    a = service.create_customers({"email": "a@x.com"})
    b = service.create_customers({"email": "b@x.com"})
    c = service.create_customers({"email": "c@x.com", "addresses": [ADDR]})
    err = error_of(service.merge_customers, a.id, [b.id], {"first_name": c.id})
    assert err.type == "invalid_data" and "keep.first_name" in err.message
    err = error_of(
        service.merge_customers, a.id, [b.id], {"default_billing_address_id": c.addresses[0].id}
    )
    assert "keep.default_billing_address_id" in err.message
    err = error_of(service.merge_customers, a.id, [b.id], {"has_account": b.id})
    assert err.type == "invalid_data"
    assert raw(service, b.id)["deleted_at"] is None


def test_memberships_are_a_union(service):
    g1, g2, g3 = (service.create_customer_groups({"name": n}) for n in ("g1", "g2", "g3"))
    a = service.create_customers({"email": "a@x.com"})
    b = service.create_customers({"email": "b@x.com"})
    service.add_customer_to_group(
        [
            {"customer_id": a.id, "customer_group_id": g1.id},
            {"customer_id": b.id, "customer_group_id": g1.id},
            {"customer_id": b.id, "customer_group_id": g2.id},
        ]
    )
    result = service.merge_customers(a.id, [b.id])
    assert sorted(g.id for g in result.customer.groups) == sorted([g1.id, g2.id])
    outcomes = {(m.customer_group_id, m.from_customer_id): m.outcome for m in result.memberships}
    assert outcomes == {
        (g1.id, a.id): "kept",
        (g1.id, b.id): "already_member",
        (g2.id, b.id): "moved",
    }
    members = service.list_customer_group_customers({"customer_group_id": g2.id})
    assert [m.customer_id for m in members] == [a.id]
    assert g3.id not in {g.id for g in result.customer.groups}


def test_metadata_is_merged_with_the_target_winning(service):
    a = service.create_customers({"email": "a@x.com", "metadata": {"tier": "gold", "x": 1}})
    b = service.create_customers({"email": "b@x.com", "metadata": {"tier": "silver", "y": 2}})
    result = service.merge_customers(a.id, [b.id])
    assert result.customer.metadata == {"tier": "gold", "x": 1, "y": 2}
    (conflict,) = result.metadata_conflicts
    assert conflict.key == "tier" and conflict.winner == a.id
    assert {(v.customer_id, v.value) for v in conflict.values} == {
        (a.id, "gold"),
        (b.id, "silver"),
    }


# --- limits, refusals ------------------------------------------------------------------------


def test_over_the_address_limit_refuses_and_writes_nothing(service):
    half = MAX_ADDRESSES // 2 + 1
    rows = [{**ADDR, "address_1": f"{i} Main"} for i in range(half)]
    a = service.create_customers({"email": "a@x.com", "addresses": rows})
    b = service.create_customers(
        {"email": "b@x.com", "addresses": [{**r, "city": "Lyon"} for r in rows]}
    )
    before = snapshot(service)
    err = error_of(service.merge_customers, a.id, [b.id])
    assert err.type == "invalid_data"
    assert f"at most {MAX_ADDRESSES} items" in err.message
    assert snapshot(service) == before


def test_over_the_metadata_limit_refuses_and_writes_nothing(service):
    a = service.create_customers({"email": "a@x.com", "metadata": {"a": "x" * 40_000}})
    b = service.create_customers({"email": "b@x.com", "metadata": {"b": "y" * 40_000}})
    before = snapshot(service)
    err = error_of(service.merge_customers, a.id, [b.id])
    assert err.type == "invalid_data" and "'metadata'" in err.message
    assert snapshot(service) == before


def test_refusals(service):
    a = service.create_customers({"email": "a@x.com"})
    b = service.create_customers({"email": "b@x.com"})
    gone = service.create_customers({"email": "gone@x.com"})
    service.soft_delete_customers(gone.id)
    err = error_of(service.merge_customers, a.id, [a.id])
    assert err.type == "invalid_data" and "into itself" in err.message
    err = error_of(service.merge_customers, a.id, ["cus_missing"])
    assert err.type == "not_found"
    err = error_of(service.merge_customers, a.id, [gone.id])
    assert err.type == "invalid_data" and "deleted" in err.message
    err = error_of(service.merge_customers, gone.id, [a.id])
    assert err.type == "invalid_data" and "deleted" in err.message
    err = error_of(service.merge_customers, a.id, [])
    assert err.type == "invalid_data"
    assert raw(service, b.id)["deleted_at"] is None


def test_result_must_stay_unique_among_live_customers(service):
    acc_a = account(service, "a@x.com", "authid_a")
    acc_b = account(service, "b@x.com", "authid_b")
    guest_b = service.create_customers({"email": "b@x.com"})
    before = snapshot(service)
    # the result would be an account b@x.com, and acc_b is one (outside the merge)
    err = error_of(service.merge_customers, guest_b.id, [acc_a], {"email": guest_b.id})
    assert err.type == "invalid_data" and acc_b in err.message
    previewed = error_of(service.preview_customer_merge, guest_b.id, [acc_a], {"email": guest_b.id})
    assert previewed.message == err.message
    assert "b@x.com" not in err.message
    assert snapshot(service) == before
    # the account's own email is fine: acc_a is soft-deleted in the same transaction
    result = service.merge_customers(guest_b.id, [acc_a])
    assert (result.customer.email, result.customer.has_account) == ("a@x.com", True)


def test_guest_and_account_of_one_email_merge(service):
    guest = service.create_customers({"email": "g@x.com", "addresses": [ADDR]})
    acc = account(service, "g@x.com", "authid_g")
    result = service.merge_customers(acc, [guest.id])
    assert result.customer.has_account and result.customer.email == "g@x.com"
    assert [a.id for a in result.customer.addresses] == [guest.addresses[0].id]


# --- what a merge leaves behind ------------------------------------------------------------------


def test_sources_are_soft_deleted_with_merged_into_and_links_move(service):
    target = service.create_customers({"email": "t@x.com"})
    acc = account(service, "s@x.com", "authid_s")
    result = service.merge_customers(target.id, [acc], by="user_1")
    assert [(m.id, m.merged_into) for m in result.merged] == [(acc, target.id)]
    source = raw(service, acc)
    assert source["deleted_at"] is not None and source["merged_into"] == target.id
    stored = raw(service, target.id)
    (entry,) = stored["provenance"]["merged_from"]
    assert (entry["id"], entry["by"]) == (acc, "user_1") and entry["at"] is not None
    links = service.run(service.store.identity_links.find({}).to_list())
    assert [(doc["_id"], doc["customer_id"]) for doc in links] == [("authid_s", target.id)]
    assert service.resolve_merged_customer(acc) == target.id
    assert service.resolve_merged_customer(target.id) == target.id
    # a chain: the target merged again into a third customer
    third = service.create_customers({"email": "z@x.com"})
    service.merge_customers(third.id, [target.id])
    assert service.resolve_merged_customer(acc) == third.id
    assert len(raw(service, third.id)["provenance"]["merged_from"]) == 1
    # merged_into and provenance never reach a DTO
    assert "merged_into" not in service.retrieve_customer(third.id).model_dump()
    assert "provenance" not in service.retrieve_customer(third.id).model_dump()


def test_preview_is_what_the_merge_then_does_and_writes_nothing(service):
    group = service.create_customer_groups({"name": "vip"})
    a = service.create_customers(
        {"email": "a@x.com", "first_name": "A", "metadata": {"k": 1}, "addresses": [ADDR]}
    )
    b = service.create_customers(
        {
            "email": "b@x.com",
            "first_name": "B",
            "metadata": {"k": 2, "j": 3},
            "addresses": [ADDR, {**ADDR, "city": "Nice", "is_default_billing": True}],
        }
    )
    service.add_customer_to_group({"customer_id": b.id, "customer_group_id": group.id})
    before = snapshot(service)
    preview = service.preview_customer_merge(a.id, [b.id], {"last_name": b.id})
    assert snapshot(service) == before
    result = service.merge_customers(a.id, [b.id], {"last_name": b.id})
    left, right = preview.model_dump(), result.model_dump()
    for side in (left, right):  # the write's instant differs from the preview's
        side["customer"].pop("updated_at")
        for address in side["customer"]["addresses"]:
            address.pop("updated_at")
    assert left == right
    assert result.customer == service.retrieve_customer(
        a.id, {"relations": ["addresses", "groups"]}
    )


def test_a_retry_is_idempotent(service):
    a = service.create_customers({"email": "a@x.com"})
    b = service.create_customers({"email": "b@x.com", "addresses": [ADDR]})
    c = service.create_customers({"email": "c@x.com"})
    first = service.merge_customers(a.id, [b.id])
    after = snapshot(service)
    again = service.merge_customers(a.id, [b.id])
    assert again.already_merged is True
    assert again.customer == first.customer
    assert [m.id for m in again.merged] == [b.id]
    assert snapshot(service) == after  # nothing written
    # a retry that adds a customer merges only the new one
    more = service.merge_customers(a.id, [b.id, c.id])
    assert more.already_merged is False
    assert [m.id for m in more.merged] == [b.id, c.id]
    assert len(raw(service, a.id)["provenance"]["merged_from"]) == 2
    # merged elsewhere is not "done": it is deleted
    d = service.create_customers({"email": "d@x.com"})
    err = error_of(service.merge_customers, d.id, [b.id])
    assert err.type == "invalid_data" and "deleted" in err.message


def test_if_match_on_the_target(service):
    a = service.create_customers({"email": "a@x.com"})
    b = service.create_customers({"email": "b@x.com"})
    err = error_of(service.merge_customers, a.id, [b.id], if_match="stale")
    assert err.type == "precondition_failed"
    tag = etag_of(CUSTOMER, raw(service, a.id))
    assert service.merge_customers(a.id, [b.id], if_match=tag).merged[0].id == b.id


def live_address_ids(service) -> list[str]:
    return sorted(
        a["id"]
        for doc in snapshot(service)
        if doc["deleted_at"] is None
        for a in doc["addresses"]
        if a["deleted_at"] is None
    )


def one_winner(outcomes: list) -> Any:
    """The one merge that won; the others lost with a clear 400 or 409."""
    won = [o for o in outcomes if not isinstance(o, Exception)]
    lost = [o for o in outcomes if isinstance(o, Exception)]
    assert len(won) == 1, outcomes
    assert all(isinstance(e, CustomerModuleError) for e in lost), lost
    assert {e.type for e in lost if isinstance(e, CustomerModuleError)} <= {
        "invalid_data",
        "conflict",
    }
    return won[0]


def test_concurrent_merges_of_one_source_into_different_targets(service):
    made = [
        service.create_customers({"email": f"{n}@x.com", "addresses": [{**ADDR, "city": n}]})
        for n in ("a", "b", "c", "d")
    ]
    a, b, c, d = (m.id for m in made)
    expected = sorted(all_address_ids(service))
    won = one_winner(service.gather(*(service.aio.merge_customers(t, [b]) for t in (a, c, d))))
    assert raw(service, b)["merged_into"] == won.customer.id
    # every address exactly once, and every one still live (nothing collapsed here)
    assert sorted(all_address_ids(service)) == expected
    assert live_address_ids(service) == expected
    assert len(won.customer.addresses) == 2


def test_concurrent_merges_each_way_one_wins(service):
    a = service.create_customers({"email": "a@x.com", "addresses": [ADDR]})
    b = service.create_customers({"email": "b@x.com", "addresses": [{**ADDR, "city": "B"}]})
    expected = sorted(all_address_ids(service))
    won = one_winner(
        service.gather(
            service.aio.merge_customers(a.id, [b.id]), service.aio.merge_customers(b.id, [a.id])
        )
    )
    assert live_address_ids(service) == expected
    assert sorted(a.id for a in won.customer.addresses) == expected


def test_many_concurrent_merges_into_one_target(service):
    target = service.create_customers({"email": "t@x.com"})
    sources = [
        service.create_customers({"email": f"s{i}@x.com", "addresses": [{**ADDR, "city": f"{i}"}]})
        for i in range(6)
    ]
    outcomes = service.gather(*(service.aio.merge_customers(target.id, [s.id]) for s in sources))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    final = service.retrieve_customer(target.id, {"relations": ["addresses"]})
    assert sorted(a.id for a in final.addresses) == sorted(s.addresses[0].id for s in sources)
    assert len(raw(service, target.id)["provenance"]["merged_from"]) == 6


# --- guests become accounts --------------------------------------------------------------------


def test_registration_links_the_guest_when_on(service):
    service.aio.link_guest_on_register = True
    guest = service.create_customers(
        {"email": "g@x.com", "phone": "555", "first_name": "Guest", "addresses": [ADDR]}
    )
    customer = service.create_customer_account({"email": "G@x.com", "first_name": "Reg"}, "auth1")
    assert customer.first_name == "Reg" and customer.phone == "555"
    assert [a.id for a in customer.addresses] == [guest.addresses[0].id]
    assert raw(service, guest.id)["merged_into"] == customer.id
    assert service.list_customers({"email": "g@x.com"}) == [service.retrieve_customer(customer.id)]
    (entry,) = raw(service, customer.id)["provenance"]["merged_from"]
    assert (entry["id"], entry["by"]) == (guest.id, "registration")


def test_create_customers_with_has_account_links_the_guest_when_on(service):
    service.aio.link_guest_on_register = True
    guest = service.create_customers({"email": "g@x.com", "phone": "555"})
    other = service.create_customers({"email": "h@x.com"})
    made = service.create_customers(
        [{"email": "g@x.com", "has_account": True}, {"email": "n@x.com", "has_account": True}]
    )
    assert made[0].phone == "555"
    assert raw(service, guest.id)["merged_into"] == made[0].id
    assert raw(service, other.id)["deleted_at"] is None
    assert made[1].phone is None


def test_registration_leaves_the_guest_alone_when_off(service):
    guest = service.create_customers({"email": "g@x.com", "phone": "555"})
    customer = service.create_customer_account({"email": "g@x.com"}, "auth1")
    assert customer.phone is None
    assert raw(service, guest.id)["deleted_at"] is None


def test_mongodb_q_finds_the_merged_result_by_what_came_from_a_source(service):
    """The target's q terms follow the merged fields (MongoDB answers q from them)."""
    target = service.create_customers({"email": "t@x.io"})
    source = service.create_customers(
        {"email": "s@x.io", "first_name": "Adèle", "last_name": "Zed"}
    )
    service.merge_customers(target.id, [source.id])
    found = service.list_customers({"q": "adèle zed"})
    assert [c.id for c in found] == [target.id]
    assert [c.id for c in service.list_customers({"q": "ad"})] == [target.id]


def test_a_merged_customer_cannot_be_restored(service):
    target = service.create_customers({"email": "t@x.io"})
    source = service.create_customers({"email": "s@x.io", "addresses": [ADDR]})
    service.merge_customers(target.id, [source.id])
    error = error_of(service.restore_customers, [source.id])
    assert error.type == "invalid_data" and "was merged into" in str(error)
    assert raw(service, source.id)["deleted_at"] is not None
    assert len(service.retrieve_customer(target.id, {"relations": ["addresses"]}).addresses) == 1
