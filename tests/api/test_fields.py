"""The `fields` parameter: replace, add, remove, relations, `id` always."""

from __future__ import annotations

from app.api.serialize import ADMIN_CUSTOMER, GROUP, STORE_ADDRESS, STORE_CUSTOMER, select

DEFAULTS = ADMIN_CUSTOMER.defaults


def test_no_fields_means_defaults_without_relations() -> None:
    selection = select(None, ADMIN_CUSTOMER)
    assert selection.fields == DEFAULTS
    assert selection.relation_names == []


def test_star_relation_keeps_defaults_and_adds_relation() -> None:
    selection = select("*addresses,*groups", ADMIN_CUSTOMER)
    assert selection.fields == DEFAULTS
    assert selection.relation_names == ["addresses", "groups"]
    assert "city" in selection.relations["addresses"].fields


def test_unmodified_entry_replaces_defaults_and_id_is_added() -> None:
    selection = select("email", ADMIN_CUSTOMER)
    assert selection.fields == ("id", "email")
    assert selection.relations == {}


def test_plus_and_space_add_minus_removes() -> None:
    selection = select("-phone,-metadata", ADMIN_CUSTOMER)
    assert "phone" not in selection.fields and "metadata" not in selection.fields
    assert "email" in selection.fields
    # a "+" in a URL decodes to a space: " field" adds it too
    assert select(" addresses.city", ADMIN_CUSTOMER).relations["addresses"].fields == (
        "id",
        "city",
    )


def test_relation_dot_star_and_relation_subfields() -> None:
    assert select("addresses.*", ADMIN_CUSTOMER).relation_names == ["addresses"]
    selection = select("id,addresses.city,addresses.country_code", ADMIN_CUSTOMER)
    assert selection.fields == ("id",)
    assert selection.relations["addresses"].fields == ("id", "city", "country_code")


def test_star_on_a_plain_field_selects_it() -> None:
    # clients send e.g. `fields=*address_name` on the store address list
    assert "address_name" in select("*address_name", STORE_ADDRESS).fields


def test_unknown_names_are_dropped() -> None:
    selection = select("email,nope,*orders,addresses.nope", ADMIN_CUSTOMER)
    assert selection.fields == ("id", "email")
    assert selection.relations["addresses"].fields == ("id",)


def test_store_customer_includes_addresses_unless_removed() -> None:
    assert select(None, STORE_CUSTOMER).relation_names == ["addresses"]
    assert select("-addresses", STORE_CUSTOMER).relation_names == []
    assert "created_by" not in select(None, STORE_CUSTOMER).fields


def test_store_address_defaults_include_default_flags_not_name() -> None:
    fields = select(None, STORE_ADDRESS).fields
    assert "is_default_shipping" in fields and "is_default_billing" in fields
    assert "address_name" not in fields


def test_projection_fills_missing_relations_with_empty_lists() -> None:
    selection = select("*customers", GROUP)
    out = selection.project({"id": "g", "name": "G", "metadata": None})
    assert out["customers"] == []
    assert out["name"] == "G"
