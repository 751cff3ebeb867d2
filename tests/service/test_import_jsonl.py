"""Importing our JSONL: the restore path keeps what it is given, exactly."""

from __future__ import annotations

from typing import Any

from app.dataio.layout import (
    JSONL_ADDRESS_KEYS,
    JSONL_CUSTOMER_KEYS,
    JSONL_GROUP_KEYS,
    JSONL_MEMBERSHIP_KEYS,
    JSONL_OPTIONAL_KEYS,
    format_date,
)
from tests.service.import_support import counts, jsonl, raw_customers, run_import

T1, T2, T3 = "2025-01-02T03:04:05.006Z", "2025-02-03T04:05:06.007Z", "2025-03-04T05:06:07.008Z"

GROUPS: list[dict[str, Any]] = [
    {"type": "customer_group", "id": "cusgroup_A", "name": "vip", "metadata": {"tier": 1},
     "created_by": "apk_x", "created_at": T1, "updated_at": T2, "deleted_at": None},
    {"type": "customer_group", "id": "cusgroup_B", "name": "old", "metadata": None,
     "created_by": None, "created_at": T1, "updated_at": T1, "deleted_at": T3},
    {"type": "customer_group", "id": "cusgroup_C", "name": "empty", "metadata": None,
     "created_by": None, "created_at": T1, "updated_at": T1, "deleted_at": None},
]  # fmt: skip


def address(i: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(JSONL_ADDRESS_KEYS)
    base.update(id=f"cuaddr_{i}", customer_id="cus_1", is_default_shipping=False,
                is_default_billing=False, city=f"City {i}", created_at=T1, updated_at=T2)  # fmt: skip
    return base | over


ANN: dict[str, Any] = {
    "type": "customer", "id": "cus_1", "email": "ann@x.com", "company_name": "Acme",
    "first_name": "Ann", "last_name": "Lee", "phone": "+1 555", "has_account": True,
    "metadata": {"a": [1, 2]}, "created_by": "usr_1", "created_at": T1, "updated_at": T3,
    "deleted_at": None,
    "addresses": [
        address("1", is_default_shipping=True),
        address("2", is_default_shipping=True, deleted_at=T3),  # a deleted former default
    ],
    "groups": [
        {"id": "cusgc_1", "customer_group_id": "cusgroup_A", "metadata": None,
         "created_by": "apk_x", "created_at": T2, "updated_at": T2, "deleted_at": None},
        {"id": "cusgc_2", "customer_group_id": "cusgroup_B", "metadata": {"m": 1},
         "created_by": None, "created_at": T2, "updated_at": T2, "deleted_at": None},
    ],
    "provenance": {"merged_from": [{"id": "cus_0", "at": T2, "by": "usr_1"}]},
}  # fmt: skip
GONE: dict[str, Any] = {
    "type": "customer", "id": "cus_2", "email": "gone@x.com", "company_name": None,
    "first_name": None, "last_name": None, "phone": None, "has_account": False,
    "metadata": None, "created_by": None, "created_at": T1, "updated_at": T2,
    "deleted_at": T3, "addresses": [], "groups": [], "merged_into": "cus_1",
}  # fmt: skip


def exported(service: Any) -> list[dict[str, Any]]:
    """What an export in our JSONL would write (the layout's keys and date format)."""
    groups = service.run(service.aio.store.groups.find().sort("_id", 1).to_list())
    out = [
        _shape({**g, "id": g["_id"], "type": "customer_group"}, JSONL_GROUP_KEYS) for g in groups
    ]
    for doc in raw_customers(service):
        line = _shape({**doc, "id": doc["_id"], "type": "customer"}, JSONL_CUSTOMER_KEYS)
        line["addresses"] = [_shape(a, JSONL_ADDRESS_KEYS) for a in doc["addresses"]]
        line["groups"] = [_shape(m, JSONL_MEMBERSHIP_KEYS) for m in doc["groups"]]
        for key in JSONL_OPTIONAL_KEYS:
            if doc.get(key) is not None:
                line[key] = _dates(doc[key])
        out.append(line)
    return out


def _shape(doc: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: _dates(doc.get(key)) for key in keys if key not in ("addresses", "groups")} | {
        key: doc.get(key) for key in keys if key in ("addresses", "groups")
    }


def _dates(value: Any) -> Any:
    if hasattr(value, "tzinfo"):
        return format_date(value)
    if isinstance(value, dict):
        return {k: _dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates(v) for v in value]
    return value


def test_restore_into_an_empty_database_is_exact_and_a_second_run_unchanged(service):
    data = jsonl(*GROUPS, ANN, GONE)
    report, errors = run_import(service, data)
    assert counts(report) == (5, 0, 0, 0), errors
    assert exported(service) == [*GROUPS, ANN, GONE]
    stored = raw_customers(service)
    assert stored[0]["version"] == 1 and stored[0]["phone_digits"] == "1555"
    assert "imported" not in (stored[0]["provenance"] or {})

    again, _ = run_import(service, data)
    assert counts(again) == (0, 0, 5, 0)
    assert exported(service) == [*GROUPS, ANN, GONE]


def test_restore_over_a_changed_customer_puts_the_line_back(service):
    run_import(service, jsonl(*GROUPS, ANN))
    service.update_customers("cus_1", {"first_name": "Changed", "metadata": {"b": 1}})
    report, _ = run_import(service, jsonl(*GROUPS, ANN))
    assert counts(report) == (0, 1, 3, 0)
    assert exported(service)[3] == ANN


def test_bad_lines_fail_alone_with_their_field(service):
    unknown_group = ANN | {"id": "cus_3", "email": "c@x.com",
                           "groups": [ANN["groups"][0] | {"customer_group_id": "cusgroup_Z"}]}  # fmt: skip
    bad_date = GONE | {"id": "cus_4", "created_at": "yesterday"}
    too_long = GONE | {"id": "cus_5", "first_name": "x" * 1001}
    bad_address = GONE | {"id": "cus_6", "addresses": [address("9", city=7)]}
    data = jsonl(*GROUPS, unknown_group, bad_date, too_long, bad_address, GONE)
    report, errors = run_import(service, data)
    assert counts(report) == (4, 0, 0, 4)
    assert [(e.line, e.field) for e in report.errors] == [
        (4, "groups.0.customer_group_id"),
        (5, "created_at"),
        (6, "first_name"),
        (7, "addresses.0.city"),
    ]
    assert report.errors[0].message == (
        "You tried to set relationship customer_group_id: cusgroup_Z, but such entity does not exist"
    )
    assert (
        report.errors[2].message
        == "Invalid request: Field 'first_name' must be at most 1000 characters"
    )
    assert len(errors.splitlines()) == 4 and '"import_error"' in errors


def test_a_dry_run_of_a_restore_writes_nothing_and_fails_nothing(service):
    report, errors = run_import(service, jsonl(*GROUPS, ANN, GONE), dry_run=True)
    assert counts(report) == (5, 0, 0, 0), errors
    assert raw_customers(service) == [] and service.list_customer_groups() == []


def test_group_lines_clash_by_name_and_erased_customers_stay_erased(service):
    service.create_customer_groups({"name": "vip"})
    service.erase_customers(
        service.create_customers({"id": "cus_2", "email": "e@x.com"}).id, actor="apk_1"
    )
    report, _ = run_import(service, jsonl(GROUPS[0], GONE))
    assert counts(report) == (0, 0, 0, 2)
    assert [(e.line, e.field) for e in report.errors] == [(1, "name"), (2, "id")]
    assert report.errors[0].message == "Customer group with name: vip, already exists."
    assert (
        report.errors[1].message == "Customer with id: cus_2 was erased; it is not imported again"
    )
    assert raw_customers(service) == []
