"""Benchmark the admin app's lookup in a real browser: last keystroke → results drawn.

    python scripts/bench_lookup_browser.py [--source /tmp/bench-hostile-100k] [--sequences 120]

1. Copies ``--source`` (a data dir seeded by ``scripts/bench_hostile.py`` or
   ``scripts/bench_search_stack.py``: embedded MongoDB files and the tantivy index; the copy is
   what this script changes, never the source) to a temporary directory, starts its embedded
   server and ``customers serve`` on it, and waits until the ranked lookup answers.
2. First load: a fresh browser context opens ``/app`` until the sign-in form shows; the bytes
   transferred (headers and bodies, as Chromium counts them) of the page and its assets, then
   those of the API calls made on sign-in (until the customer list is drawn).
3. Lookup: keystroke sequences made from customers sampled over the admin API (name prefixes,
   "first name + start of last name", email fragments, phone last digits) are typed into the
   search field key by key (``--key-delay-ms`` apart, jittered), as a person types. The app marks
   ``lookup-input`` on every keystroke and ``lookup-rendered`` when it has drawn an answer
   (Performance API marks, with the query); the figure per sequence is the time from the last
   keystroke's mark to the drawing of the answer to the whole text, debounce included. The
   search request's own duration (Resource Timing) is reported beside it.

Prints one JSON object. The machine is shared: compare figures within one run, and read them
with the load average printed beside them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from app.embedded import EmbeddedServer  # noqa: E402
from tests.web.support import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_FLAGS,
    TIMEOUT_MS,
    AppServer,
    server_env,
)

DATABASE = "customers"  # the benchmark data dirs' database
LONGEST_WORD = 30  # sampled values longer than this (hostile stored names) make no fragment

# The answer to the whole text is drawn, after its last keystroke; the times of both marks, and
# the duration of that answer's search request (null if the browser did not record it).
DRAWN = """(q) => {
  const input = performance.getEntriesByName("lookup-input").at(-1);
  const drawn = performance.getEntriesByName("lookup-rendered").at(-1);
  if (!input || !drawn || drawn.detail.q !== q || drawn.startTime < input.startTime) return null;
  const fetched = performance.getEntriesByType("resource").filter((entry) => {
    const url = new URL(entry.name);
    return url.pathname === "/admin/customers/search" && url.searchParams.get("q") === q;
  }).at(-1);
  return {
    total: drawn.startTime - input.startTime,
    fetch: fetched ? fetched.duration : null,
    hits: drawn.detail.hits,
  };
}"""


# -- the data and the keystroke sequences ------------------------------------------------------
@contextmanager
def served_copy(source: Path) -> Iterator[AppServer]:
    """``customers serve`` on a copy of ``source`` (removed afterwards), with an API key."""
    with tempfile.TemporaryDirectory(prefix="bench-lookup-browser-") as scratch:
        data = Path(scratch) / "data"
        shutil.copytree(source, data)
        with EmbeddedServer(data) as mongodb:
            server = AppServer(server_env(data, mongodb.uri, DATABASE))
            try:
                yield server
            finally:
                server.close()


def sample_customers(server: AppServer, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """About ``count`` customers from pages spread over the whole list."""
    fields = "id,first_name,last_name,email,phone"
    total = server.admin("GET", "/admin/customers?limit=1&fields=id")["count"]
    sampled: list[dict[str, Any]] = []
    while len(sampled) < count:
        offset = rng.randrange(max(1, total - 50))
        page = server.admin("GET", f"/admin/customers?limit=50&offset={offset}&fields={fields}")
        sampled.extend(rng.sample(page["customers"], min(10, len(page["customers"]))))
    return sampled[:count]


def _word(value: Any) -> str:
    text = str(value or "").strip().lower()
    return text if 0 < len(text) <= LONGEST_WORD and " " not in text else ""


def fragments(customer: dict[str, Any], rng: random.Random) -> list[tuple[str, str]]:
    """(kind, text) a support agent might type to find ``customer``."""
    first, last = _word(customer.get("first_name")), _word(customer.get("last_name"))
    local = _word(str(customer.get("email") or "").partition("@")[0])
    digits = re.sub(r"\D", "", str(customer.get("phone") or ""))
    out: list[tuple[str, str]] = []
    if len(first) >= 3:
        out.append(("name prefix", first[: rng.randint(3, min(6, len(first)))]))
    if first and len(last) >= 2:
        out.append(("first + last prefix", f"{first} {last[: rng.randint(2, min(5, len(last)))]}"))
    if len(local) >= 4:
        start = rng.randrange(max(1, len(local) - 6))
        out.append(("email fragment", local[start : start + rng.randint(4, 8)]))
    if len(digits) >= 6:
        out.append(("phone last digits", digits[-rng.randint(4, 6) :]))
    return out


def keystroke_sequences(customers: list[dict[str, Any]], seed: int) -> list[tuple[str, str]]:
    """(kind, text) for every customer, the kinds taking turns, in a repeatable order."""
    rng = random.Random(seed)
    by_kind: dict[str, list[str]] = {}
    for customer in customers:
        for kind, text in fragments(customer, rng):
            by_kind.setdefault(kind, []).append(text)
    turns = itertools.zip_longest(*(by_kind[kind] for kind in sorted(by_kind)))
    kinds = sorted(by_kind)
    return [(kinds[i], text) for turn in turns for i, text in enumerate(turn) if text]


def wait_until_searchable(server: AppServer, text: str) -> None:
    """The served index answers (a copied index first catches up with the change stream)."""
    deadline = time.monotonic() + 600
    path = f"/admin/customers/search?q={urllib.parse.quote(text)}&limit=1"
    while not server.admin("GET", path)["count"]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the lookup never found {text!r}")
        time.sleep(0.5)


# -- the browser -------------------------------------------------------------------------------
def first_load(browser: Browser, server: AppServer) -> dict[str, Any]:
    """Bytes transferred on opening ``/app`` cold, then on signing in (until the list shows)."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    finished: list[Any] = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(server.base + "/app")
    page.get_by_label("API key").wait_for()
    app = _transferred(finished)
    finished.clear()
    sign_in(page, server)
    signed_in = _transferred(finished)
    context.close()
    return {"app": app, "sign_in_api_calls": signed_in}


def _transferred(requests: list[Any]) -> dict[str, Any]:
    sizes = [request.sizes() for request in requests]
    total = sum(size["responseHeadersSize"] + size["responseBodySize"] for size in sizes)
    return {"requests": len(requests), "bytes": total, "kb": round(total / 1024, 1)}


def signed_in_lookup(browser: Browser, server: AppServer) -> Page:
    """A tab signed in, on the lookup with the customer list drawn."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(server.base + "/app")
    sign_in(page, server)
    return page


def sign_in(page: Page, server: AppServer) -> None:
    """Sign in on the form shown; return once the customer list is drawn."""
    page.get_by_label("API key").fill(server.api_key)
    page.get_by_label("API key").press("Enter")
    page.get_by_role("navigation", name="Pages of customers").wait_for()


def type_sequence(page: Page, text: str, rng: random.Random, delay_ms: float) -> dict[str, Any]:
    """Empty the field, type ``text`` key by key; the marks' figures of its answer."""
    field = page.get_by_role("searchbox", name="Search customers")
    field.fill("")
    page.locator("ul[aria-label='Matching customers']:not([aria-busy])").wait_for(state="attached")
    page.evaluate("performance.clearResourceTimings()")
    page.wait_for_timeout(400)  # a pause between look-ups: the last one's requests are over
    for char in text:
        page.keyboard.type(char)
        page.wait_for_timeout(delay_ms * rng.uniform(0.7, 1.3))
    handle = page.wait_for_function(DRAWN, arg=text, polling="raf")
    figures: dict[str, Any] = handle.json_value()
    return figures


def stats(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(at(0.95), 1),
        "p99_ms": round(at(0.99), 1),
        "max_ms": round(ordered[-1], 1),
    }


def lookups(
    page: Page, sequences: list[tuple[str, str]], args: argparse.Namespace
) -> dict[str, Any]:
    """Type the warm-up sequences, then the measured ones; the figures overall and by kind."""
    rng = random.Random(args.seed)
    page.get_by_role("searchbox", name="Search customers").click()
    warmup, measured = sequences[: args.warmup], sequences[args.warmup :]
    for _, text in warmup:
        type_sequence(page, text, rng, args.key_delay_ms)
    rows: list[tuple[str, dict[str, Any]]] = []
    for kind, text in measured:
        rows.append((kind, type_sequence(page, text, rng, args.key_delay_ms)))
        print(f"{len(rows)}/{len(measured)} {kind}: {rows[-1][1]['total']:.0f} ms", file=sys.stderr)
    fetches = [figures["fetch"] for _, figures in rows if figures["fetch"] is not None]
    kinds = sorted({kind for kind, _ in rows})
    return {
        "keystroke_to_results": stats([figures["total"] for _, figures in rows]),
        "search_request": stats(fetches) if fetches else None,
        "by_kind": {k: stats([f["total"] for kind, f in rows if kind == k]) for k in kinds},
        "sequences_without_hits": sum(1 for _, figures in rows if not figures["hits"]),
        "examples": [text for _, text in measured[:8]],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/tmp/bench-hostile-100k"))
    parser.add_argument("--sequences", type=int, default=120)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--key-delay-ms", type=float, default=120.0, help="between keystrokes")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    if not (args.source / "mongodb").is_dir():
        parser.error(f"{args.source} is not a seeded data dir (see scripts/bench_hostile.py)")
    result: dict[str, Any] = {"source": str(args.source), "key_delay_ms": args.key_delay_ms}
    with served_copy(args.source) as server, sync_playwright() as playwright:
        wanted = args.sequences + args.warmup
        customers = sample_customers(server, wanted, random.Random(args.seed))
        result["customers"] = server.admin("GET", "/admin/customers?limit=1&fields=id")["count"]
        sequences = keystroke_sequences(customers, args.seed)[:wanted]
        wait_until_searchable(server, next(t for k, t in sequences if k == "name prefix"))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            result["first_load"] = first_load(browser, server)
            result["lookup"] = lookups(signed_in_lookup(browser, server), sequences, args)
        finally:
            browser.close()
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
