"""The entity declarations and the views every other layer reads from them."""

from __future__ import annotations

import dataclasses

import pytest

from app.entities import (
    ADDRESS,
    CUSTOMER,
    ENTITIES,
    GROUP,
    MEMBERSHIP,
    NEW_ID,
    NOW,
    Entity,
    Field,
    Filter,
    Index,
    Kind,
    Op,
    Role,
    Who,
)


def test_the_search_index_reads_these_customer_fields() -> None:
    assert CUSTOMER.q_fields == ("email", "first_name", "last_name", "company_name", "phone")
    assert CUSTOMER.q_digits == (("phone", "phone_digits"),)
    assert CUSTOMER.exact_fields == (
        "id", "email", "company_name", "first_name", "last_name", "phone", "created_by",
    )  # fmt: skip
    assert CUSTOMER.range_fields == ("created_at", "updated_at", "deleted_at")
    assert CUSTOMER.flag_fields == ("has_account",)
    assert set(CUSTOMER.sort_fields) == {
        "id", "created_at", "updated_at", "email", "first_name", "last_name", "company_name",
    }  # fmt: skip
    assert CUSTOMER.ranked == {
        Role.EMAIL: "email",
        Role.PHONE: "phone",
        Role.FIRST_NAME: "first_name",
        Role.LAST_NAME: "last_name",
        Role.COMPANY: "company_name",
    }
    assert CUSTOMER.dates == ("created_at", "updated_at", "deleted_at")


def test_response_shapes_follow_medusa() -> None:
    assert CUSTOMER.public_names == (
        "id", "email", "company_name", "first_name", "last_name", "phone", "has_account",
        "metadata", "created_by", "created_at", "updated_at", "deleted_at",
    )  # fmt: skip
    assert "created_by" not in CUSTOMER.response_names(Who.STORE)
    admin_address = ADDRESS.response_names(Who.ADMIN)
    assert not {"address_name", "is_default_shipping", "deleted_at"} & set(admin_address)
    assert set(ADDRESS.response_names(Who.STORE)) - set(admin_address) == {
        "is_default_shipping",
        "is_default_billing",
    }


def test_who_may_write_what() -> None:
    def names(entity: Entity, who: Who, on_create: bool) -> set[str]:
        return {f.name for f in entity.writable(who, on_create=on_create)}

    assert names(CUSTOMER, Who.STORE, True) - names(CUSTOMER, Who.STORE, False) == {"email"}
    assert {"has_account", "created_by", "id"} <= names(CUSTOMER, Who.SERVICE, True)
    assert not {"has_account", "created_by", "id"} & names(CUSTOMER, Who.ADMIN, True)
    assert names(GROUP, Who.ADMIN, False) == {"name", "metadata"}
    assert "id" not in names(MEMBERSHIP, Who.SERVICE, True)
    assert all(
        not f.internal for e in ENTITIES.values() for f in e.writable(Who.SERVICE, on_create=True)
    )


def test_operators_follow_the_kind_unless_declared() -> None:
    assert CUSTOMER.field("email").operators == frozenset(Op)
    assert Op.LIKE not in CUSTOMER.field("created_at").operators
    assert CUSTOMER.field("metadata").operators == frozenset()
    narrow = Field("x", Kind.TEXT, filter=Filter(ops=frozenset({Op.EQ})))
    assert narrow.operators == {Op.EQ}


def test_defaults_and_storage() -> None:
    assert CUSTOMER.field("id").path == "_id" and CUSTOMER.field("email").path == "email"
    assert CUSTOMER.initial(CUSTOMER.field("id"), None).startswith("cus_")
    assert CUSTOMER.field("created_at").default is NOW
    assert GROUP.field("id").default is NEW_ID
    assert CUSTOMER.initial(CUSTOMER.field("created_at"), "now") == "now"
    assert "customer_id" not in {f.name for f in MEMBERSHIP.stored}
    assert "phone_digits" in CUSTOMER.indexed
    assert "phone_digits" not in CUSTOMER.public_names + CUSTOMER.columns
    assert "version" not in CUSTOMER.public_names and "metadata" not in CUSTOMER.sortable


def test_a_declaration_names_each_field_once() -> None:
    with pytest.raises(ValueError, match="twice"):
        Entity("x", "X", "X", "x", (Field("a", Kind.TEXT), Field("a", Kind.TEXT)))
    with pytest.raises(ValueError, match="place in q"):
        Entity("x", "X", "X", "x", (Field("a", Kind.TEXT, q=1), Field("b", Kind.TEXT, q=1)))


def test_a_new_field_reaches_every_view() -> None:
    nickname = Field(
        "nickname",
        Kind.TEXT,
        create=Who.SERVICE | Who.ADMIN | Who.STORE,
        update=Who.SERVICE | Who.ADMIN | Who.STORE,
        filter=Filter(),
        q=6,
        index=Index.FILTER | Index.SORT,
    )
    members = (*CUSTOMER.members[:3], nickname, *CUSTOMER.members[3:])
    customer = dataclasses.replace(CUSTOMER, members=members)
    assert customer.q_fields[-1] == "nickname"
    assert "nickname" in customer.exact_fields and "nickname" in customer.sort_fields
    assert "nickname" in customer.filterable and "nickname" in customer.indexed
    assert customer.public_names[3] == "nickname"
    assert "nickname" in customer.response_names(Who.STORE) + customer.columns
    assert nickname in customer.writable(Who.STORE, on_create=False)
