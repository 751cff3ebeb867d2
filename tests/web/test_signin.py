"""Signing in and out: the key is checked by the API, kept only in sessionStorage, never shown."""

from __future__ import annotations

import pytest

from app.credentials import mint_token
from tests.api.serve_support import SECRET
from tests.web.support import PLAYWRIGHT_MISSING, Tab, customers_cli, unique_word

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect


def test_sign_in_with_enter_then_sign_out(tab: Tab) -> None:
    tab.open("/app")
    key_field = tab.page.get_by_label("API key")
    key_field.fill(tab.server.api_key)
    key_field.press("Enter")
    expect(tab.search_field()).to_be_focused()

    tab.page.get_by_role("button", name="Sign out").click()
    expect(tab.page.get_by_label("API key")).to_be_visible()
    expect(tab.page.get_by_text("You signed out.")).to_be_visible()
    assert tab.page.evaluate("sessionStorage.length") == 0
    tab.page.reload()
    expect(tab.page.get_by_label("API key")).to_be_visible()  # a reload does not sign in again


def test_sign_in_button_and_a_wrong_key(tab: Tab) -> None:
    tab.open("/app")
    tab.page.get_by_label("API key").fill("sk_" + "0" * 64)
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_role("alert")).to_contain_text("did not accept this key")
    expect(tab.page.get_by_label("API key")).to_have_attribute("aria-invalid", "true")
    assert tab.page.evaluate("sessionStorage.length") == 0

    tab.page.get_by_label("API key").fill(tab.server.api_key)
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.search_field()).to_be_visible()


def test_the_key_is_never_in_the_url_the_html_or_local_storage(signed_in: Tab) -> None:
    key = signed_in.server.api_key
    requested: list[str] = []
    signed_in.page.on("request", lambda request: requested.append(request.url))
    signed_in.type_query("someone")
    expect(signed_in.page.get_by_role("status").filter(has_text="match")).to_be_visible()
    signed_in.page.get_by_role("link", name="Groups").click()
    expect(signed_in.page.get_by_role("heading", name="Customer groups")).to_be_visible()

    assert requested and all(key not in url for url in requested)
    assert key not in signed_in.page.url
    assert key not in signed_in.page.content()
    assert signed_in.page.evaluate("JSON.stringify(localStorage)") == "{}"
    assert key in signed_in.page.evaluate("JSON.stringify(sessionStorage)")
    assert key not in signed_in.server.serve.output, "the key reached the server's log"


def test_a_401_returns_to_sign_in_with_a_message(signed_in: Tab) -> None:
    page = signed_in.page
    page.get_by_role("link", name="Groups", exact=True).click()
    expect(page.get_by_role("heading", name="Customer groups")).to_be_visible()
    # The key stops working while the tab is open (here: a token that has expired).
    expired = mint_token(SECRET, actor_type="user", actor_id="user_web", expires_in=-60)
    page.evaluate("key => sessionStorage.setItem('customers.key', key)", expired)
    page.get_by_role("link", name="Customers", exact=True).click()

    expect(page.get_by_label("API key")).to_be_visible()
    expect(page.get_by_text("no longer accepts your key")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_pasted_link_opens_after_sign_in(tab: Tab) -> None:
    group = tab.server.group("Pasted link group")
    tab.sign_in(path=f"/app/groups/{group['id']}")
    expect(tab.page.get_by_role("heading", name="Pasted link group", level=1)).to_be_visible()


def test_a_read_key_hides_what_it_cannot_do(tab: Tab) -> None:
    server = tab.server
    key = customers_cli(server.env, "api-key", "create", "--title", "support", "--scope", "read")
    word = unique_word()
    customer = server.customer(first_name="Reader", last_name=word, email=f"r@{word}.example")
    tab.sign_in(key)
    page = tab.page
    expect(page.get_by_text("Read-only key")).to_be_visible()
    tab.type_query(word)
    expect(tab.results().first).to_contain_text(f"Reader {word}")
    tab.results().first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Reader {word}")
    expect(page.get_by_role("region", name="Profile")).to_contain_text(f"r@{word}.example")
    for name in ("Edit profile", "Add address", "Add", "Delete customer"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    page.get_by_role("link", name="Groups", exact=True).first.click()
    expect(page.get_by_role("heading", name="Customer groups")).to_be_visible()
    expect(page.get_by_role("button", name="Create group")).to_have_count(0)
    assert tab.failed == []  # the app asked for nothing a read key may not do
    reply = server.serve.request(
        "POST",
        f"/admin/customers/{customer['id']}",
        {"first_name": "X"},
        {"Authorization": f"Bearer {key}"},
    )
    assert reply.status == 403  # what it hides, the API refuses


def test_an_admin_key_sees_no_read_only_badge(signed_in: Tab) -> None:
    expect(signed_in.page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(signed_in.page.get_by_text("Read-only key")).to_have_count(0)
