"""Screenshot the admin app's lookup with results for the README: ``docs/app.png``.

    python scripts/screenshot_app.py [--out docs/app.png] [--query "mar"]

Starts an embedded MongoDB and ``customers serve`` on a temporary data dir, creates a few
made-up customers and groups through the admin API, signs in with an API key in headless
Chromium (Debian's, as the browser tests use), types the query and saves the page once the
answer is drawn. Run by hand when the app's look changes; the tests never rewrite the file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from app.embedded import EmbeddedServer  # noqa: E402
from tests.web.support import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_FLAGS,
    TIMEOUT_MS,
    AppServer,
    open_tab,
    server_env,
)

# (first name, last name, company, phone, groups): made up; every "mar" is a different field.
PEOPLE = [
    ("Marguerite", "Dupont", "Atelier Nord", "+33 6 12 34 56 78", ["VIP"]),
    ("Mario", "Rossi", None, "+39 347 555 0142", []),
    ("Marta", "Kowalska", "Kowalska Ceramics", None, ["Wholesale"]),
    ("Omar", "Haddad", None, "+44 7700 900123", ["VIP", "Wholesale"]),
    ("Ingrid", "Marchetti", "Marchetti & Figli", "+39 02 555 0199", []),
    ("Tomás", "Herrera", "Mar Azul Imports", None, ["Wholesale"]),
    ("Lena", "Vogel", None, "+49 30 5550 1234", []),
    ("Kofi", "Mensah", "Accra Textiles", None, []),
]


def seed(server: AppServer) -> None:
    """The made-up customers and their groups."""
    groups = {name: server.group(name)["id"] for name in ("VIP", "Wholesale")}
    for first, last, company, phone, member_of in PEOPLE:
        email = f"{first}.{last}@example.com".lower().replace("á", "a")
        customer = server.customer(
            first_name=first, last_name=last, company_name=company, phone=phone, email=email
        )
        for name in member_of:
            server.add_members(groups[name], [customer["id"]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "app.png")
    parser.add_argument("--query", default="mar")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="screenshot-app-") as scratch,
        EmbeddedServer(Path(scratch) / "data") as mongodb,
    ):
        server = AppServer(server_env(Path(scratch) / "data", mongodb.uri, "customers"))
        try:
            seed(server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
                )
                tab = open_tab(browser, server, viewport={"width": 1200, "height": 900})
                tab.sign_in()
                # The index catches up with the new customers within moments: retype until all
                # of them are found, so the picture shows the whole answer.
                for _ in range(TIMEOUT_MS // 500):
                    tab.search_field().fill("")
                    tab.type_query(args.query)
                    if tab.results().count() >= 6:
                        break
                    tab.page.wait_for_timeout(500)
                tab.page.mouse.move(0, 0)  # no hover effect in the picture
                args.out.parent.mkdir(parents=True, exist_ok=True)
                tab.page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
