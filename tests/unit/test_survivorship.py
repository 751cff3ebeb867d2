"""The merge's survivorship rules on plain documents (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.errors import InvalidData
from app.service.merge_models import KEEPABLE, MERGEABLE
from app.service.survivorship import plan

NOW = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def customer(customer_id: str, *, minutes_ago: int = 0, **fields) -> dict:
    return {
        "_id": customer_id,
        "email": f"{customer_id}@x.com",
        "first_name": None,
        "has_account": False,
        "metadata": None,
        "addresses": [],
        "groups": [],
        "updated_at": NOW - timedelta(minutes=minutes_ago),
        "deleted_at": None,
        "version": 1,
        **fields,
    }


def address(address_id: str, **fields) -> dict:
    base = {"id": address_id, "address_1": "1 Main", "city": "Paris", "metadata": None}
    return {
        **base,
        "is_default_shipping": False,
        "is_default_billing": False,
        "deleted_at": None,
        **fields,
    }


def test_the_mergeable_fields_are_derived_from_the_declaration():
    names = {f.name for f in MERGEABLE}
    assert {"email", "first_name", "last_name", "phone", "company_name", "has_account"} <= names
    assert not names & {"id", "created_at", "updated_at", "deleted_at", "version", "metadata"}
    assert not names & {"merged_into", "provenance", "phone_digits"}  # internal
    assert "has_account" not in KEEPABLE and "metadata" in KEEPABLE


def test_an_older_account_beats_a_newer_guest_then_recency_decides():
    target = customer("cus_t", minutes_ago=0, first_name="Guest")
    acc = customer("cus_a", minutes_ago=60, first_name="Account", has_account=True)
    newer = customer("cus_n", minutes_ago=1, last_name="Newer")
    older = customer("cus_o", minutes_ago=30, last_name="Older")
    worked = plan(target, [acc, older, newer], None, now=NOW, by=None)
    assert worked.target["first_name"] == "Account"
    assert worked.target["has_account"] is True
    assert worked.target["last_name"] == "Newer"
    rules = {c.field: (c.winner, c.rule) for c in worked.report.conflicts}
    assert rules["first_name"] == ("cus_a", "account beats guest")
    assert rules["last_name"] == ("cus_n", "most recently updated")


def test_empty_values_never_win_over_a_value():
    target = customer("cus_t", first_name="")
    source = customer("cus_s", minutes_ago=10, first_name="Sam")
    assert plan(target, [source], None, now=NOW, by=None).target["first_name"] == "Sam"


def test_collapse_compares_content_not_ids_flags_or_owner():
    target = customer("cus_t", addresses=[address("a1", is_default_shipping=True)])
    same = address("b1", is_default_billing=True, customer_id="cus_s")
    other = address("b2", city="Lyon")
    source = customer("cus_s", addresses=[same, other])
    worked = plan(target, [source], None, now=NOW, by="user_1")
    kept = {a["id"]: a for a in worked.target["addresses"]}
    assert set(kept) == {"a1", "b2"}
    # b1 was the only billing default: it collapsed into a1, so a1 carries it
    assert kept["a1"]["is_default_shipping"] and kept["a1"]["is_default_billing"]
    assert kept["b2"]["customer_id"] == "cus_t"
    left = worked.sources["cus_s"]
    assert [a["id"] for a in left["addresses"]] == ["b1"] and left["addresses"][0]["deleted_at"]
    assert left["merged_into"] == "cus_t" and left["deleted_at"] == NOW
    assert worked.target["provenance"]["merged_from"] == [
        {"id": "cus_s", "at": NOW, "by": "user_1"}
    ]


def test_metadata_target_wins_unless_keep_says_otherwise():
    target = customer("cus_t", metadata={"a": 1, "b": 1})
    source = customer("cus_s", metadata={"b": 2, "c": 2})
    assert plan(target, [source], None, now=NOW, by=None).target["metadata"] == {
        "a": 1,
        "b": 1,
        "c": 2,
    }
    kept = plan(target, [source], {"metadata": "cus_s"}, now=NOW, by=None)
    assert kept.target["metadata"] == {"b": 2, "c": 2, "a": 1}
    (conflict,) = kept.report.metadata_conflicts
    assert (conflict.key, conflict.winner) == ("b", "cus_s")


@pytest.mark.parametrize(
    "keep",
    [{"first_name": "cus_elsewhere"}, {"default_billing_address_id": "cuaddr_elsewhere"}],
)
def test_keep_outside_the_merge_is_refused(keep):
    with pytest.raises(InvalidData):
        plan(customer("cus_t"), [customer("cus_s")], keep, now=NOW, by=None)


def test_two_accounts_with_different_emails_need_keep_email():
    a = customer("cus_a", has_account=True)
    b = customer("cus_b", has_account=True)
    with pytest.raises(InvalidData, match=r"keep\.email"):
        plan(a, [b], None, now=NOW, by=None)
    assert plan(a, [b], {"email": "cus_b"}, now=NOW, by=None).target["email"] == "cus_b@x.com"
