"""``Server-Timing`` on the admin customer routes: each step of a list request, and the total."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from tests.api.conftest import BOTH_PATHS

ENTRY = re.compile(r"^([a-z]+);dur=(\d+\.\d{3})$")


def _steps(response: Any) -> dict[str, float]:
    header = response.headers.get("Server-Timing")
    assert header, "no Server-Timing header"
    entries = [ENTRY.match(part.strip()) for part in header.split(",")]
    assert all(entries), header
    return {m.group(1): float(m.group(2)) for m in entries if m}


def test_an_index_served_list_names_each_step(
    app: Flask, client: Any, admin: dict[str, str], make_customer: Any
) -> None:
    make_customer(email="timed@example.com")
    steps = _steps(client.get("/admin/customers?q=timed", headers=admin))
    for name in ("auth", "parse", "freshness", "engine", "hydrate", "serialise", "rest", "app"):
        assert name in steps, steps
    named = sum(ms for name, ms in steps.items() if name != "app")
    assert abs(named - steps["app"]) < 0.01, steps  # the steps add up to the whole


@BOTH_PATHS
def test_every_admin_customer_route_sends_it_and_errors_too(
    app: Flask, client: Any, admin: dict[str, str]
) -> None:
    assert "auth" in _steps(client.get("/admin/customers/cus_missing", headers=admin))
    refused = client.get("/admin/customers")
    assert refused.status_code == 401 and "auth" in _steps(refused)
    assert "engine" not in _steps(client.get("/admin/customers?email[$like]=%25x", headers=admin))
    # a later request of another blueprint carries none (the steps ended with the request)
    assert "Server-Timing" not in client.get("/admin/customer-groups", headers=admin).headers
