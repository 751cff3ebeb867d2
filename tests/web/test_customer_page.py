"""The customer page: profile, addresses and defaults, groups, delete; errors where they arise."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.support import PLAYWRIGHT_MISSING, Tab, unique_word

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect


@pytest.fixture
def customer(signed_in: Tab) -> dict[str, Any]:
    """A customer with metadata, opened in the signed-in tab."""
    word = unique_word()
    created = signed_in.server.customer(
        first_name="Ines",
        last_name=word,
        email=f"ines@{word}.example",
        metadata={"tier": "gold", "visits": 3},
    )
    signed_in.open(f"/app/customers/{created['id']}")
    expect(signed_in.page.get_by_role("heading", level=1)).to_have_text(f"Ines {word}")
    return created


def section(tab: Tab, name: str) -> Any:
    return tab.page.get_by_role("region", name=name)


def test_the_page_shows_profile_metadata_and_times(signed_in: Tab, customer) -> None:
    profile = section(signed_in, "Profile")
    expect(profile).to_contain_text(customer["email"])
    expect(section(signed_in, "Metadata")).to_contain_text("tier")
    expect(section(signed_in, "Metadata")).to_contain_text("gold")
    expect(section(signed_in, "Record")).to_contain_text("Created")
    expect(section(signed_in, "Record")).to_contain_text(customer["id"])
    expect(signed_in.page.get_by_text("Guest", exact=True)).to_be_visible()


def test_edit_the_profile_and_see_the_api_error_next_to_the_form(signed_in: Tab, customer) -> None:
    profile = section(signed_in, "Profile")
    profile.get_by_role("button", name="Edit profile").click()
    form = profile.get_by_role("form", name="Edit profile")
    form.get_by_label("Email").fill("not an email")
    form.get_by_role("button", name="Save profile").click()
    expect(form.get_by_role("alert")).to_contain_text("Invalid email")
    expect(form.get_by_label("Email")).to_have_attribute("aria-invalid", "true")

    form.get_by_label("Email").fill(customer["email"])
    form.get_by_label("First name").fill("Inès")
    form.get_by_label("Company").fill("Maison Bleue")
    form.get_by_role("button", name="Save profile").click()
    expect(signed_in.page.get_by_role("heading", level=1)).to_have_text(
        f"Inès {customer['last_name']}"
    )
    expect(profile).to_contain_text("Maison Bleue")
    stored = signed_in.server.read_customer(customer["id"])
    assert (stored["first_name"], stored["company_name"]) == ("Inès", "Maison Bleue")
    assert stored["metadata"] == {"tier": "gold", "visits": 3}


def add_address(tab: Tab, name: str, city: str, *, shipping: bool = False) -> None:
    addresses = section(tab, "Addresses")
    addresses.get_by_role("button", name="Add address").click()
    form = addresses.get_by_role("form", name="New address")
    form.get_by_label("Address name").fill(name)
    form.get_by_label("Address line 1").fill("1 rue de la Paix")
    form.get_by_label("City").fill(city)
    form.get_by_label("Country code").fill("fr")
    if shipping:
        form.get_by_label("Default shipping address").check()
    form.get_by_role("button", name="Add address").click()
    expect(addresses.get_by_role("heading", name=name)).to_be_visible()


def card(tab: Tab, name: str) -> Any:
    return (
        section(tab, "Addresses")
        .get_by_role("listitem")
        .filter(has=tab.page.get_by_role("heading", name=name, exact=True))
    )


def badge(tab: Tab, address: str, text: str) -> Any:
    return card(tab, address).get_by_text(text, exact=True)


def test_addresses_and_their_defaults(signed_in: Tab, customer) -> None:
    add_address(signed_in, "Home", "Paris", shipping=True)
    add_address(signed_in, "Office", "Lyon")
    expect(badge(signed_in, "Home", "Default shipping")).to_be_visible()
    expect(badge(signed_in, "Office", "Default shipping")).to_have_count(0)

    card(signed_in, "Office").get_by_role(
        "button", name="Make Office the default shipping address"
    ).click()
    expect(badge(signed_in, "Office", "Default shipping")).to_be_visible()
    expect(badge(signed_in, "Home", "Default shipping")).to_have_count(0)
    card(signed_in, "Home").get_by_role(
        "button", name="Make Home the default billing address"
    ).click()
    expect(badge(signed_in, "Home", "Default billing")).to_be_visible()
    expect(section(signed_in, "Addresses").get_by_role("alert")).to_have_count(0)

    card(signed_in, "Office").get_by_role("button", name="Edit address Office").click()
    form = signed_in.page.get_by_role("form", name="Edit address Office")
    form.get_by_label("City").fill("Lyon 2e")
    form.get_by_role("button", name="Save address").click()
    expect(card(signed_in, "Office")).to_contain_text("Lyon 2e")

    card(signed_in, "Home").get_by_role("button", name="Delete address Home").click()
    dialog = signed_in.page.get_by_role("dialog", name="Delete this address?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(card(signed_in, "Home")).to_be_visible()
    card(signed_in, "Home").get_by_role("button", name="Delete address Home").click()
    dialog.get_by_role("button", name="Delete address").click()
    expect(card(signed_in, "Home")).to_have_count(0)

    stored = signed_in.server.read_customer(customer["id"])
    assert [
        (a["address_name"], a["city"], a["is_default_shipping"]) for a in stored["addresses"]
    ] == [("Office", "Lyon 2e", True)]


def test_group_membership(signed_in: Tab, customer) -> None:
    word = customer["last_name"]
    group = signed_in.server.group(f"Club {word}")
    signed_in.page.reload()
    groups = section(signed_in, "Groups")
    groups.get_by_label("Add to group").select_option(label=f"Club {word}")
    groups.get_by_role("button", name="Add", exact=True).click()
    expect(groups.get_by_role("link", name=f"Club {word}")).to_be_visible()
    assert [g["id"] for g in signed_in.server.read_customer(customer["id"])["groups"]] == [
        group["id"]
    ]

    groups.get_by_role("button", name=f"Remove from group Club {word}").click()
    expect(groups.get_by_role("link", name=f"Club {word}")).to_have_count(0)
    expect(groups).to_contain_text("In no group.")
    assert signed_in.server.read_customer(customer["id"])["groups"] == []


def test_delete_asks_first_and_restore(signed_in: Tab, customer) -> None:
    delete = signed_in.page.get_by_role("button", name="Delete customer")
    delete.click()
    signed_in.page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(signed_in.page.get_by_role("dialog")).to_have_count(0)
    assert (
        signed_in.server.serve.request(
            "GET", f"/admin/customers/{customer['id']}", headers=_admin()
        ).status
        == 200
    )

    delete.click()
    signed_in.page.get_by_role("dialog").get_by_role("button", name="Delete customer").click()
    expect(signed_in.page.get_by_text("This customer was deleted on")).to_be_visible()
    expect(signed_in.page.get_by_text("Deleted", exact=True).first).to_be_visible()
    expect(signed_in.page.get_by_role("button", name="Edit profile")).to_have_count(0)
    assert (
        signed_in.server.serve.request(
            "GET", f"/admin/customers/{customer['id']}", headers=_admin()
        ).status
        == 404
    )

    signed_in.page.reload()  # a deleted customer's page still opens (from the list with deleted)
    expect(signed_in.page.get_by_text("This customer was deleted on")).to_be_visible()

    signed_in.page.get_by_role("button", name="Restore customer").click()
    expect(signed_in.page.get_by_role("button", name="Edit profile")).to_be_visible()
    expect(signed_in.page.get_by_text("This customer was deleted on")).to_have_count(0)
    assert signed_in.server.read_customer(customer["id"])["deleted_at"] is None


def test_an_unknown_customer(signed_in: Tab) -> None:
    signed_in.open("/app/customers/cus_doesnotexist")
    expect(signed_in.page.get_by_role("heading", name="Customer not found")).to_be_visible()


def _admin() -> dict[str, str]:
    from tests.api.serve_support import admin_headers

    return admin_headers()
