"""The URL holds the state: back/forward, reload and pasted links restore the same view."""

from __future__ import annotations

import re

import pytest

from tests.web.support import PLAYWRIGHT_MISSING, Tab, unique_word

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect


def test_back_forward_and_reload(signed_in: Tab) -> None:
    word = unique_word()
    customer = signed_in.server.customer(
        first_name="Rosalind", last_name=word, email=f"r@{word}.example"
    )
    page = signed_in.page
    signed_in.type_query(word)
    expect(signed_in.results()).to_have_count(1)
    signed_in.results().first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Rosalind {word}")
    assert signed_in.path() == f"/app/customers/{customer['id']}"

    page.go_back()
    expect(signed_in.search_field()).to_have_value(word)
    expect(signed_in.results()).to_have_count(1)
    page.go_forward()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Rosalind {word}")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Rosalind {word}")
    page.go_back()
    page.reload()
    expect(signed_in.search_field()).to_have_value(word)
    expect(signed_in.results().first).to_contain_text(f"Rosalind {word}")


def test_list_filters_sort_and_page_live_in_the_url(signed_in: Tab) -> None:
    word = unique_word()
    server = signed_in.server
    group = server.group(f"Paged {word}")
    members = [
        server.customer(email=f"m{n:02}@{word}.example", last_name=f"{word}{n:02}")
        for n in range(27)
    ]
    server.add_members(group["id"], [m["id"] for m in members])
    page = signed_in.page
    signed_in.open("/app")
    page.get_by_label("Group").select_option(label=f"Paged {word}")
    page.get_by_label("Sort by").select_option(label="Email, A to Z")
    expect(page.get_by_role("navigation", name="Pages of customers")).to_contain_text(
        "1\N{EN DASH}25 of 27 customers"
    )
    rows = page.get_by_role("table", name="Customers").get_by_role("row")
    expect(rows.nth(1)).to_contain_text(f"m00@{word}.example")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("navigation", name="Pages of customers")).to_contain_text(
        "26\N{EN DASH}27 of 27 customers"
    )
    expect(rows.nth(1)).to_contain_text(f"m25@{word}.example")
    assert re.fullmatch(rf"/app\?group={group['id']}&sort=email&page=2", signed_in.path()), (
        signed_in.path()
    )

    page.go_back()
    expect(page.get_by_role("navigation", name="Pages of customers")).to_contain_text(
        "1\N{EN DASH}25 of 27 customers"
    )
    page.go_forward()
    expect(page.get_by_role("navigation", name="Pages of customers")).to_contain_text(
        "26\N{EN DASH}27 of 27 customers"
    )

    signed_in.open(signed_in.path())  # the link, pasted
    expect(page.get_by_label("Group")).to_have_value(group["id"])
    expect(page.get_by_label("Sort by")).to_have_value("email")
    expect(rows.nth(1)).to_contain_text(f"m25@{word}.example")


def test_account_and_created_filters(signed_in: Tab) -> None:
    word = unique_word()
    server = signed_in.server
    group = server.group(f"Filters {word}")
    guest = server.customer(email=f"guest@{word}.example", first_name="Guest")
    server.add_members(group["id"], [guest["id"]])
    page = signed_in.page
    signed_in.open(f"/app?group={group['id']}")
    expect(page.get_by_role("navigation", name="Pages of customers")).to_contain_text(
        "1\N{EN DASH}1 of 1 customer"
    )
    page.get_by_label("Account").select_option(label="Registered (account)")
    expect(page.get_by_role("navigation", name="Pages of customers")).to_contain_text(
        "No customers"
    )
    page.get_by_label("Account").select_option(label="Guest")
    expect(page.get_by_role("navigation", name="Pages of customers")).to_contain_text(
        "1\N{EN DASH}1 of 1 customer"
    )
    page.get_by_label("Created to").fill("2001-01-01")
    page.get_by_label("Created to").dispatch_event("change")
    expect(page.get_by_role("navigation", name="Pages of customers")).to_contain_text(
        "No customers"
    )
    assert "to=2001-01-01" in signed_in.path()
