"""Usable by everyone: names on every control, visible focus, 375 px and 1440 px, a light first
load, and a clean run under the page's security headers (no console errors, nothing the
Content-Security-Policy forbids)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.support import PLAYWRIGHT_MISSING, AppServer, Tab, open_tab, unique_word

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

FIRST_LOAD_LIMIT = 150 * 1024  # bytes transferred (headers and bodies) by the first load

UNNAMED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea, button, a[href]')]
  .filter((el) => el.getClientRects().length)
  .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') ||
                    el.getAttribute('aria-labelledby') || el.textContent.trim()))
  .map((el) => el.outerHTML)"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def shopper(server: AppServer) -> dict[str, Any]:
    """A customer with an address and a group, so every section of its page has content."""
    word = unique_word()
    customer = server.customer(
        first_name="Anneliese",
        last_name=f"Oberhauser-Lindqvist{word}",
        email=f"anneliese.oberhauser-lindqvist@{word}-very-long-domain.example",
        company_name="Internationale Handelsgesellschaft",
        phone="+49 30 1234 5678",
    )
    path = f"/admin/customers/{customer['id']}/addresses"
    server.admin(
        "POST", path, {"address_name": "Home", "city": "Berlin", "is_default_shipping": True}
    )
    group = server.group(f"Wholesale {word}")
    server.add_members(group["id"], [customer["id"]])
    return {**customer, "word": word, "group": group}


def visit_every_view(tab: Tab, shopper: dict[str, Any], check) -> None:
    """Sign in, then go through every view and open form, calling ``check(name)`` on each."""
    page = tab.page
    tab.open("/app")
    check("sign-in")
    tab.sign_in()
    expect(page.get_by_role("table", name="Customers")).to_be_visible()
    check("list")
    tab.type_query(shopper["word"])
    expect(tab.results().first).to_contain_text("Anneliese")
    check("lookup")
    tab.results().first.get_by_role("link").click()
    expect(page.get_by_role("region", name="Addresses")).to_contain_text("Default shipping")
    check("customer")
    page.get_by_role("button", name="Edit profile").click()
    page.get_by_role("button", name="Edit address Home").click()
    expect(page.get_by_role("form", name="Edit address Home")).to_be_visible()
    check("customer forms")
    page.get_by_role("link", name="Groups", exact=True).first.click()
    expect(page.get_by_role("table", name="Customer groups")).to_be_visible()
    check("groups")
    tab.open(f"/app/groups/{shopper['group']['id']}")
    expect(
        page.get_by_role("table", name=f"Members of Wholesale {shopper['word']}")
    ).to_be_visible()
    check("group")


@pytest.mark.parametrize("width", [375, 1440])
def test_every_control_is_named_and_nothing_overflows(browser, server, shopper, width) -> None:
    tab = open_tab(browser, server, viewport={"width": width, "height": 800})
    problems: dict[str, Any] = {}

    def check(view: str) -> None:
        unnamed = tab.page.evaluate(UNNAMED_CONTROLS)
        overflow = tab.page.evaluate(OVERFLOW)
        if unnamed or overflow > 0:
            problems[view] = {"unnamed": unnamed, "overflow_px": overflow}

    try:
        visit_every_view(tab, shopper, check)
    finally:
        tab.page.context.close()
    assert problems == {}


def test_focus_is_visible(signed_in: Tab) -> None:
    page = signed_in.page
    expect(signed_in.search_field()).to_be_focused()
    for _ in range(4):
        page.keyboard.press("Tab")
        outline = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [document.activeElement.tagName, s.outlineStyle, parseFloat(s.outlineWidth)]; }"
        )
        assert outline[1] != "none" and outline[2] >= 2, outline


def test_the_first_load_is_light(tab: Tab) -> None:
    transferred: list[int] = []

    def count(response: Any) -> None:
        sizes = response.request.sizes()
        transferred.append(sizes["responseHeadersSize"] + sizes["responseBodySize"])

    tab.page.on("requestfinished", lambda request: count(request.response()))
    tab.open("/app")
    expect(tab.page.get_by_label("API key")).to_be_visible()
    tab.page.wait_for_load_state("networkidle")
    assert len(transferred) >= 5  # the page, its styles, its modules, the icon
    assert sum(transferred) <= FIRST_LOAD_LIMIT, sum(transferred)


def test_the_app_is_served_with_security_headers(server: AppServer) -> None:
    for path in ("/app", "/app/customers/cus_1", "/app/static/js/main.js"):
        headers = server.headers(path)
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path


def test_a_whole_session_runs_clean_under_the_csp(browser, server, shopper) -> None:
    tab = open_tab(browser, server)
    page = tab.page
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    try:
        visit_every_view(tab, shopper, lambda view: None)
        page.keyboard.press("/")
        expect(tab.search_field()).to_be_focused()
        violations = page.evaluate("window.__csp")
    finally:
        page.context.close()
    assert violations == []
    assert tab.page_errors == []
    assert tab.failed == []
    assert tab.console_errors == []
