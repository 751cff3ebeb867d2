"""Import runs: modes, dry runs, interruptions, our CSV, limits and bad files."""

from __future__ import annotations

import pytest

from app.errors import CustomerModuleError
from app.service.importing import engine
from tests.service.import_support import counts, raw_customers, run_import, shopify

ROWS = [{"First Name": f"n{i}", "Email": f"c{i}@x.com", "Tags": "t"} for i in range(7)] + [
    {"First Name": "blank1", "Default Address City": "Oslo"},
    {"First Name": "blank2"},
]


def test_modes(service):
    existing = shopify({"Email": "a@x.com", "First Name": "A"})
    run_import(service, existing)
    both = shopify({"Email": "a@x.com", "First Name": "A2"}, {"Email": "b@x.com"})

    report, _ = run_import(service, both, mode="create")
    assert counts(report) == (1, 0, 0, 1)
    assert report.errors[0].field == "Email"
    assert report.errors[0].message == (
        "Customer with email: a@x.com, has_account: false, already exists."
    )
    report, _ = run_import(
        service,
        shopify({"Email": "c@x.com"}, {"Email": "b@x.com", "First Name": "B"}),
        mode="update",
    )
    assert counts(report) == (0, 1, 0, 1)
    assert report.errors[0].message == "Customer with email: c@x.com was not found"
    report, _ = run_import(service, both, mode="upsert")
    assert counts(report) == (0, 1, 1, 0)
    assert service.list_customers({"email": "a@x.com"})[0].first_name == "A2"
    with pytest.raises(CustomerModuleError, match="mode"):
        run_import(service, both, mode="merge")


def test_dry_run_writes_nothing_and_counts_what_it_would_do(service):
    run_import(service, shopify(ROWS[0]))
    before = raw_customers(service)
    report, _ = run_import(service, shopify(*ROWS, {"Email": "x" * 400}), dry_run=True)
    assert counts(report) == (8, 0, 1, 1)
    assert raw_customers(service) == before
    assert [g.name for g in service.list_customer_groups()] == ["t"]


def test_an_interrupted_import_run_again_imports_every_row_once(service, monkeypatch):
    monkeypatch.setattr(engine, "BATCH_ROWS", 3)
    data = shopify(*ROWS)
    seen = []

    def stop_after_two_batches(progress):
        seen.append(progress.rows)
        if len(seen) == 2:
            raise KeyboardInterrupt  # the process dies here

    with pytest.raises(KeyboardInterrupt):
        run_import(service, data, progress=stop_after_two_batches)
    assert seen == [3, 6] and len(raw_customers(service)) == 6

    report, _ = run_import(service, data)
    assert counts(report) == (3, 0, 6, 0)
    stored = raw_customers(service)
    assert len(stored) == len(ROWS) == len({d["first_name"] for d in stored})
    assert sum(1 for d in stored if d["first_name"].startswith("blank")) == 2

    resumed, _ = run_import(service, data, skip=6)  # a job resumes after its checkpoint
    assert resumed.rows == 9 and counts(resumed) == (0, 0, 3, 0)


def test_rows_for_one_customer_in_one_file_are_applied_in_order(service, monkeypatch):
    monkeypatch.setattr(engine, "BATCH_ROWS", 100)
    data = shopify(
        {"Email": "a@x.com", "First Name": "one"}, {"Email": "A@x.com", "First Name": "two"}
    )
    report, _ = run_import(service, data)
    assert counts(report) == (1, 1, 0, 0)
    assert [c.first_name for c in service.list_customers()] == ["two"]


OUR_HEADER = (
    "id,email,first_name,has_account,metadata,created_by,groups,"
    "address.id,address.city,address.is_default_shipping,address.metadata"
)


def test_our_csv_multi_address_customers_update_by_id_and_idempotency(service):
    data = "\r\n".join([
        OUR_HEADER,
        'cus_A,a@x.com,Ann,true,"{""k"": ""v""}",,"[""vip""]",cuaddr_1,Paris,true,',
        'cus_A,a@x.com,Ann,true,"{""k"": ""v""}",,"[""vip""]",cuaddr_2,"Lyon, centre",,"{""floor"": 2}"',
        ",b@x.com,Bob,,,,,,,,",
        ",,Nameless,,,,,,Rome,,",
        "",
    ]).encode()  # fmt: skip
    first, errors = run_import(service, data, actor="apk_1")
    assert counts(first) == (3, 0, 0, 0), errors
    ann = service.retrieve_customer("cus_A", {"relations": ["addresses", "groups"]})
    assert ann.has_account and ann.metadata == {"k": "v"} and ann.created_by == "apk_1"
    assert [(a.id, a.city, a.is_default_shipping) for a in ann.addresses] == [
        ("cuaddr_1", "Paris", True), ("cuaddr_2", "Lyon, centre", False)
    ]  # fmt: skip
    assert ann.addresses[1].metadata == {"floor": 2}
    assert [g.name for g in ann.groups] == ["vip"]
    assert counts(run_import(service, data)[0]) == (0, 0, 3, 0)

    changed = data.replace(b"Paris,true", b"Nice,true").replace(b",Bob,", b",,")
    report, _ = run_import(service, changed)
    assert counts(report) == (0, 2, 1, 0)
    assert (
        service.retrieve_customer("cus_A", {"relations": ["addresses"]}).addresses[0].city == "Nice"
    )
    assert service.list_customers({"email": "b@x.com"})[0].first_name is None  # empty cell = null


def test_a_bad_header_fails_the_whole_file(service):
    with pytest.raises(CustomerModuleError, match="not recognised"):
        run_import(service, b"name,age\nann,3\n")
    assert raw_customers(service) == []


def test_a_row_failing_at_the_write_fails_alone(service):
    taken = service.create_customers({"email": "a@x.com"})
    data = "\r\n".join(["id,email,first_name", "cus_new,a@x.com,Clash", ",b@x.com,Fine", ""])
    report, errors = run_import(service, data.encode())
    assert counts(report) == (1, 0, 0, 1)
    assert (report.errors[0].line, report.errors[0].field) == (2, "email")
    assert report.errors[0].message == (
        "Customer with email: a@x.com, has_account: false, already exists."
    )
    assert "cus_new,a@x.com,Clash,2,email," in errors
    assert sorted(c.email for c in service.list_customers()) == ["a@x.com", "b@x.com"]
    assert service.retrieve_customer(taken.id).first_name is None
