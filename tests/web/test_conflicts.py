"""Two admins, one record: an edit based on what someone else has changed since is refused by
the API (``If-Match`` → 412) and the page shows what changed, then reloads or applies it anyway."""

from __future__ import annotations

import pytest

from tests.web.support import PLAYWRIGHT_MISSING, Tab, open_tab, unique_word

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect


def test_a_conflicting_profile_edit_is_shown_then_applied(browser, server, signed_in: Tab) -> None:
    word = unique_word()
    customer = server.customer(first_name="Yvette", last_name=word, email=f"y@{word}.example")
    other = open_tab(browser, server)
    try:
        signed_in.open(f"/app/customers/{customer['id']}")
        other.sign_in(path=f"/app/customers/{customer['id']}")
        for tab in (signed_in, other):
            tab.page.get_by_role("button", name="Edit profile").click()
        other.page.get_by_label("First name").fill("Yvonne")
        other.page.get_by_role("button", name="Save profile").click()
        expect(other.page.get_by_role("heading", level=1)).to_have_text(f"Yvonne {word}")
    finally:
        other.page.context.close()

    page = signed_in.page
    page.get_by_label("Company").fill("Mine SARL")
    page.get_by_role("button", name="Save profile").click()
    conflict = page.get_by_role("alert").filter(has_text="Someone else changed this customer")
    expect(conflict).to_be_visible()
    expect(conflict.get_by_role("row", name="First name")).to_contain_text("Yvette")
    expect(conflict.get_by_role("row", name="First name")).to_contain_text("Yvonne")
    expect(conflict.get_by_role("row", name="Company")).to_contain_text("Mine SARL")
    assert server.read_customer(customer["id"])["company_name"] is None  # nothing overwritten

    conflict.get_by_role("button", name="Apply my change anyway").click()
    expect(page.get_by_role("region", name="Profile")).to_contain_text("Mine SARL")
    stored = server.read_customer(customer["id"])
    assert (stored["first_name"], stored["company_name"]) == ("Yvonne", "Mine SARL")


def test_a_group_renamed_meanwhile_is_shown_then_reloaded(signed_in: Tab) -> None:
    server = signed_in.server
    group = server.group(f"Before {unique_word()}")
    page = signed_in.page
    signed_in.open(f"/app/groups/{group['id']}")
    page.get_by_role("button", name="Rename").click()
    theirs = f"Theirs {unique_word()}"
    server.admin("POST", f"/admin/customer-groups/{group['id']}", {"name": theirs})

    page.get_by_label("Group name").fill("Mine")
    page.get_by_role("button", name="Save name").click()
    conflict = page.get_by_role("alert").filter(has_text="Someone else changed this group")
    expect(conflict.get_by_role("row", name="Name")).to_contain_text(theirs)
    expect(conflict.get_by_role("row", name="Name")).to_contain_text("Mine")
    assert (
        server.admin("GET", f"/admin/customer-groups/{group['id']}")["customer_group"]["name"]
        == theirs
    )  # nothing overwritten

    conflict.get_by_role("button", name="Reload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(theirs)
    expect(page.get_by_role("alert").filter(has_text="Someone else")).to_have_count(0)
