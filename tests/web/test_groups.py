"""The groups pages: list, create, rename, delete; a group's members with the count, paged."""

from __future__ import annotations

import pytest

from tests.web.support import PLAYWRIGHT_MISSING, Tab, unique_word

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect


def test_create_rename_and_delete_a_group(signed_in: Tab) -> None:
    word = unique_word()
    page = signed_in.page
    page.get_by_role("link", name="Groups").click()
    page.get_by_label("New group name").fill(f"Newsletter {word}")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Newsletter {word}")
    expect(page.get_by_role("region", name="Members")).to_contain_text("No members")

    page.get_by_role("button", name="Rename").click()
    page.get_by_label("Group name").fill(f"Letters {word}")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Letters {word}")

    page.get_by_role("link", name="Groups", exact=True).first.click()
    page.get_by_label("Filter groups by name").fill(word)
    expect(page.get_by_role("table", name="Customer groups").get_by_role("link")).to_have_text(
        [f"Letters {word}"]
    )
    page.get_by_role("link", name=f"Letters {word}").click()
    page.get_by_role("button", name="Delete group").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete group").click()
    expect(page.get_by_role("heading", name="Customer groups")).to_be_visible()
    page.get_by_label("Filter groups by name").fill(word)
    expect(page.get_by_role("navigation", name="Pages of groups")).to_contain_text("No groups")


def test_a_duplicate_name_shows_the_api_message(signed_in: Tab) -> None:
    word = unique_word()
    signed_in.server.group(f"Taken {word}")
    page = signed_in.page
    signed_in.open("/app/groups")
    page.get_by_label("New group name").fill(f"Taken {word}")
    page.get_by_role("button", name="Create group").click()
    alert = page.get_by_role("form", name="Create a group").get_by_role("alert")
    expect(alert).to_contain_text("already exists")


def test_members_are_counted_and_paged(signed_in: Tab) -> None:
    word = unique_word()
    server = signed_in.server
    group = server.group(f"Members {word}")
    members = [server.customer(email=f"p{n:02}@{word}.example") for n in range(23)]
    server.add_members(group["id"], [m["id"] for m in members])
    page = signed_in.page
    signed_in.open(f"/app/groups/{group['id']}")
    pages = page.get_by_role("navigation", name="Pages of members")
    expect(pages).to_contain_text("1\N{EN DASH}20 of 23 members")
    page.get_by_role("button", name="Next").click()
    expect(pages).to_contain_text("21\N{EN DASH}23 of 23 members")
    assert signed_in.path() == f"/app/groups/{group['id']}?page=2"
    page.reload()
    expect(pages).to_contain_text("21\N{EN DASH}23 of 23 members")

    page.get_by_role("button", name=f"Remove p22@{word}.example from the group").click()
    expect(pages).to_contain_text("21\N{EN DASH}22 of 22 members")
