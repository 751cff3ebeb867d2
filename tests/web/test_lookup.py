"""The lookup: search as you type, best match first, keyboard, stale answers, untrusted text."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from tests.web.support import PLAYWRIGHT_MISSING, Tab, unique_word

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

XSS = "<img src=x onerror=window.__xss=1>"


@pytest.fixture
def family(signed_in: Tab) -> dict[str, Any]:
    """Three customers sharing a made-up surname; one is the obvious best match."""
    word = unique_word()
    server = signed_in.server
    return {
        "word": word,
        "best": server.customer(
            first_name="Marguerite",
            last_name=word,
            email=f"marguerite@{word}.example",
            phone="+33 6 12 34 56 78",
            company_name="Atelier Nord",
        ),
        "second": server.customer(first_name="Bertrand", last_name=word, email=f"b@{word}.example"),
        "third": server.customer(first_name="Odile", last_name=word, email=f"o@{word}.example"),
    }


def test_a_fragment_shows_the_right_customer_first_with_highlights(signed_in: Tab, family) -> None:
    signed_in.type_query(f"margu {family['word'][:6]}")
    first = signed_in.results().first
    expect(first).to_contain_text(f"Marguerite {family['word']}")
    expect(first).to_contain_text(family["best"]["email"])
    expect(first).to_contain_text("Atelier Nord")
    expect(first).to_contain_text("Guest")
    marks = first.locator("mark").all_inner_texts()
    assert "Margu" in marks or "Marguerite" in marks, marks
    assert signed_in.path() == f"/app?q=margu+{family['word'][:6]}"


def test_keyboard_arrows_enter_escape_and_slash(signed_in: Tab, family) -> None:
    signed_in.type_query(family["word"])
    expect(signed_in.results()).to_have_count(3)
    field = signed_in.search_field()
    field.press("ArrowDown")
    field.press("ArrowDown")
    field.press("ArrowDown")
    field.press("ArrowUp")
    second = signed_in.results().nth(1)
    expect(second).to_have_attribute("aria-current", "true")
    expect(field).to_be_focused()
    chosen = second.get_by_role("link").inner_text()
    field.press("Enter")
    expect(signed_in.page.get_by_role("heading", level=1)).to_have_text(chosen.split("\n")[0])

    signed_in.page.keyboard.press("/")  # anywhere: back to the search field
    expect(signed_in.search_field()).to_be_focused()
    expect(signed_in.search_field()).to_have_value("")
    signed_in.type_query(family["word"])
    expect(signed_in.results()).to_have_count(3)
    signed_in.search_field().press("Escape")
    expect(signed_in.search_field()).to_have_value("")
    expect(signed_in.results()).to_have_count(0)
    expect(signed_in.page.get_by_role("table")).to_be_visible()  # the customer list is back
    assert signed_in.path() == "/app"


def test_enter_right_after_typing_opens_the_best_match(signed_in: Tab, family) -> None:
    signed_in.type_query(f"marguerite {family['word']}")
    signed_in.search_field().press("Enter")
    expect(signed_in.page).to_have_url(
        f"{signed_in.server.base}/app/customers/{family['best']['id']}"
    )


def test_a_slow_earlier_answer_never_replaces_a_newer_one(signed_in: Tab, family) -> None:
    page = signed_in.page
    held: list[Any] = []
    over: list[Any] = []  # requests that got an answer or were given up (aborted)
    page.on("requestfinished", lambda request: over.append(request))
    page.on("requestfailed", lambda request: over.append(request))

    def hold_first(route: Any) -> None:
        if not held and "q=odi" in route.request.url and "odil" not in route.request.url:
            held.append(route)  # answered only after the newer search has been drawn
        else:
            route.continue_()

    page.route("**/admin/customers/search?*", hold_first)
    signed_in.type_query("odi", settle=False)
    signed_in.wait_until(lambda: bool(held), "the search for 'odi' is sent (and held)")
    signed_in.type_query(f"le {family['word']}")
    expect(signed_in.results().first).to_contain_text("Odile")
    stale = {
        "hits": [{"customer": {**family["second"], "groups": []}, "score": 1.0, "highlights": {}}],
        "count": 1,
        "took_ms": 1.0,
    }
    with contextlib.suppress(Exception):  # the app may have aborted it already: just as good
        held[0].fulfill(status=200, content_type="application/json", body=json.dumps(stale))
    signed_in.wait_until(lambda: held[0].request in over, "the stale answer is in (or aborted)")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done)))")
    expect(signed_in.results()).to_have_count(1)
    expect(signed_in.results().first).to_contain_text("Odile")


def test_an_xss_name_renders_as_text_and_runs_nothing(signed_in: Tab) -> None:
    word = unique_word()
    customer = signed_in.server.customer(
        first_name=XSS,
        last_name=word,
        company_name=f"<script>window.__xss=2</script>{word}",
        email=f"x@{word}.example",
        metadata={"note": XSS},
    )
    signed_in.type_query(word)
    first = signed_in.results().first
    expect(first).to_contain_text(f"{XSS} {word}")
    assert first.locator("img, script").count() == 0
    first.get_by_role("link").click()
    expect(signed_in.page.get_by_role("heading", level=1)).to_have_text(f"{XSS} {word}")
    expect(signed_in.page.get_by_text(f"<script>window.__xss=2</script>{word}")).to_be_visible()
    main = signed_in.page.locator("main")
    assert main.locator("img, script").count() == 0
    assert signed_in.page.evaluate("window.__xss") is None
    assert signed_in.path() == f"/app/customers/{customer['id']}"


def test_no_match_says_so(signed_in: Tab) -> None:
    signed_in.type_query("qqqqqqqqqqqqqq")
    expect(
        signed_in.page.get_by_role("status").filter(has_text="No customers match")
    ).to_be_visible()
    expect(signed_in.results()).to_have_count(0)


def test_long_stored_values_are_clipped_in_rows(signed_in: Tab) -> None:
    shown = 200  # SHOWN_CHARS in format.js: what a row shows of one value
    word = unique_word()
    company = f"{word} " + "a very long company name " * 38  # 950 characters: within the limits
    server = signed_in.server
    customer = server.customer(
        first_name="Long", last_name=word, email=f"l@{word}.example", company_name=company
    )
    group = server.group(f"Clipped {word}")
    server.add_members(group["id"], [customer["id"]])

    signed_in.type_query(word)
    details = signed_in.results().first.locator(".hit-details")
    expect(details).to_contain_text(company[:shown] + "…")
    assert len(details.inner_text()) < shown + 40  # the company, clipped, and the group
    signed_in.open(f"/app?group={group['id']}")
    row = signed_in.page.get_by_role("table", name="Customers").get_by_role("row").nth(1)
    expect(row.get_by_role("cell").nth(2)).to_have_text(company[:shown] + "…")


def test_highlights_are_ranges_of_the_stored_text(signed_in: Tab) -> None:
    word = unique_word()
    server = signed_in.server
    server.customer(first_name="a<em>b</em>", last_name=word, email=f"h@{word}.example")
    hits = server.admin("GET", f"/admin/customers/search?q={word}")["hits"]
    assert hits[0]["highlights"]["last_name"] == [[0, len(word)]]
    assert "first_name" not in hits[0]["highlights"]

    signed_in.type_query(word)
    first = signed_in.results().first
    expect(first).to_contain_text(f"a<em>b</em> {word}")  # the markup-like name is plain text
    assert first.locator("em").count() == 0
    assert first.locator(".hit-title mark").all_inner_texts() == [word]
