"""The API keeps the contract of its own OpenAPI document, checked by schemathesis.

A bounded run in-process (WSGI): every documented operation gets generated requests (valid
ones, invalid ones, and valid ones aimed at entities that exist) with the credentials its route
needs, and every answer must be no server error, a documented status code, a body matching the
documented schema and the documented content type. ``SCHEMATHESIS_EXAMPLES`` (default 15 per
operation and kind) sets the size: raise it for a long run by hand.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import token_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "15"))
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
REGISTER = "POST /store/customers"
_serial = itertools.count()


@pytest.fixture
def api_schema(app) -> Any:
    """The document the app serves, loaded through its WSGI interface."""
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.fixture
def store_customer(registered) -> tuple[dict[str, Any], dict[str, str]]:
    """A registered customer and its headers."""
    return registered("schemathesis@example.com")


def _registration() -> dict[str, str]:
    """A registration token of an identity of its own, so each case may register once."""
    identity = f"authid_schemathesis_{next(_serial)}"
    return {"Authorization": f"Bearer {token_for('customer', '', auth_identity_id=identity)}"}


@pytest.fixture
def credentials(admin, store_customer) -> dict[str, Callable[[], dict[str, str]]]:
    """Headers per kind of route: admin key, registration token, a registered customer."""
    return {
        "admin": lambda: {"Authorization": admin["Authorization"]},
        "register": _registration,
        "store": lambda: {"Authorization": store_customer[1]["Authorization"]},
        "open": dict,
    }


@pytest.fixture
def existing(client, admin, store_customer) -> Callable[[], dict[str, str]]:
    """Make fresh entities (an admin's customer with an address, a group, a store address, an
    export job, a duplicate scan job) and return their ids as path parameters, so generated
    requests reach real data."""
    _, store = store_customer

    def make() -> dict[str, str]:
        customer = client.post("/admin/customers", json={"first_name": "Ann"}, headers=admin)
        customer_id = customer.json["customer"]["id"]
        with_address = client.post(
            f"/admin/customers/{customer_id}/addresses?fields=*addresses",
            json={"city": "Paris"},
            headers=admin,
        ).json["customer"]
        group = client.post(
            "/admin/customer-groups", json={"name": f"group {customer_id}"}, headers=admin
        ).json["customer_group"]
        mine = client.post("/store/customers/me/addresses", json={"city": "Lyon"}, headers=store)
        export = client.post("/admin/customers/export", json={}, headers=admin)
        upload = {"Authorization": admin["Authorization"], "Content-Type": "text/csv"}
        job = client.post("/admin/customers/imports", data=b"Email\n\n", headers=upload).json
        while job["state"] in ("queued", "running"):  # its error report exists once it ran
            job = client.get(f"/admin/customers/imports/{job['id']}", headers=admin).json
        scan = client.post("/admin/customers/duplicates/scans", json={}, headers=admin)
        return {
            "import_id": job["id"],
            "job_id": export.json["transaction_id"],
            "scan_job_id": scan.json["id"],
            "customer_id": customer_id,
            "group_id": group["id"],
            "address_id": with_address["addresses"][0]["id"],
            "my_address_id": mine.json["customer"]["addresses"][-1]["id"],
        }

    return make


def _kind(path: str) -> str:
    if path.startswith("/admin/"):
        return "admin"
    if path == "/store/customers":
        return "register"
    if path.startswith("/store/"):
        return "store"
    return "open"


def _path_parameters(operation: Any, ids: dict[str, str]) -> dict[str, str]:
    names = [p.name for p in operation.path_parameters]
    if operation.path.startswith("/store/"):
        ids = {**ids, "address_id": ids["my_address_id"]}
    if operation.path.startswith("/admin/customers/duplicates/scans/"):
        ids = {**ids, "job_id": ids["scan_job_id"]}
    return {name: ids[name] for name in names}


def _run(
    operation: Any,
    headers: Callable[[], dict[str, str]],
    mode: GenerationMode,
    statuses: Counter[tuple[str, int]],
    path_parameters: dict[str, str] | None = None,
) -> None:
    """Send ``EXAMPLES`` generated requests to one operation and check every answer."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
    def run(case: Any) -> None:
        if operation.label == REGISTER and mode is POSITIVE and isinstance(case.body, dict):
            # The route requires an email its schema leaves optional (Medusa's message).
            case.body.setdefault("email", None)
            case.body["email"] = case.body["email"] or f"reg{next(_serial)}@example.com"
        response = case.call_and_validate(headers=headers(), checks=CHECKS)
        statuses[(operation.label, response.status_code)] += 1

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (e.g. /health takes no input)
        if mode is not NEGATIVE:
            raise


NAMES_OTHERS_IN_BODY = {
    "POST /admin/customers/{customer_id}/merge",
    "POST /admin/customers/{customer_id}/merge/preview",
}
"""Operations whose success needs other existing customers named in the body (generated ids
are unknown: 404); their contract is still checked here, their 200s in tests/api/test_merge.py."""
NEEDS_A_FILE = {"POST /admin/customers/imports"}
"""Operations whose success needs a file in one of our layouts (generated bytes rarely are
one: 400); their contract is still checked here, their 202s in tests/api/test_imports.py."""


def test_api_keeps_its_openapi_contract(api_schema, credentials, existing) -> None:
    failures: list[str] = []
    statuses: Counter[tuple[str, int]] = Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 27
    for operation in operations:
        headers = credentials[_kind(operation.path)]
        runs: list[tuple[GenerationMode, dict[str, str] | None]] = [(POSITIVE, None)]
        runs.append((NEGATIVE, None))
        if operation.path_parameters:
            runs.append((POSITIVE, _path_parameters(operation, existing())))
        for mode, path_parameters in runs:
            try:
                _run(operation, headers, mode, statuses, path_parameters)
            except Exception as exc:  # report every operation's failure, not just the first
                failures.append(f"{operation.label} ({mode}): {exc}")
    assert not failures, "\n\n".join(failures)
    # The run reached the real thing: every operation answered 200 (or 202) at least once
    # (readiness too: the app has its search index and indexer, as `customers serve` does).
    answered = {label for (label, status) in statuses if status in (200, 202)}
    expected = {operation.label for operation in operations} - NAMES_OTHERS_IN_BODY - NEEDS_A_FILE
    assert answered >= expected, sorted(expected - answered)
