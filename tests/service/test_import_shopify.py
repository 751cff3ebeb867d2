"""Importing Shopify's customer CSV: its quirks, the mapping, bad rows, idempotency."""

from __future__ import annotations

import gzip

from tests.service.import_support import counts, raw_customers, run_import, shopify

ANN = {
    "First Name": "Ann", "Last Name": "Lee", "Email": "Ann@Example.com",
    "Accepts Email Marketing": "yes", "Default Address Company": "Acme, Inc",
    "Default Address Address1": "1 Main St", "Default Address City": "Paris",
    "Default Address Country Code": "FR", "Default Address Zip": "75001",
    "Phone": "+33 1 23", "Tags": " vip , ,big spender ", "Note": "likes\r\ntea, not coffee",
    "Tax Exempt": "no",
}  # fmt: skip
BLANK = {"First Name": "Nobody", "Tags": "vip"}


def test_quirks_bom_crlf_quoted_commas_tags_blank_emails_and_bad_rows(service):
    long_note = {"First Name": "Long", "Email": "long@x.com", "Note": "n" * 70_000}
    long_email = {"First Name": "Mail", "Email": "m" * 400 + "@x.com"}
    data = shopify(ANN, BLANK, long_note, long_email, BLANK | {"First Name": "Other"}, bom=True)
    report, errors = run_import(service, data, source_name="customers_export.csv")
    assert counts(report) == (3, 0, 0, 2)
    assert [(e.line, e.field) for e in report.errors] == [(5, "Note"), (6, "Email")]
    assert report.errors[0].message == (
        "Invalid request: Field 'metadata' must be at most 65536 bytes of JSON"
    )
    assert (
        report.errors[1].message == "Invalid request: Field 'email' must be at most 320 characters"
    )
    assert errors.count("\r\n") >= 3 and "import_error_message" in errors.splitlines()[0]

    ann = service.list_customers(
        {"email": "ann@example.com"}, {"relations": ["addresses", "groups"]}
    )[0]
    assert (ann.first_name, ann.last_name, ann.phone, ann.has_account) == (
        "Ann",
        "Lee",
        "+33 1 23",
        False,
    )
    assert ann.metadata == {"shopify": {"note": "likes\r\ntea, not coffee",
                                        "accepts_email_marketing": "yes", "tax_exempt": "no"}}  # fmt: skip
    (address,) = ann.addresses
    assert (address.company, address.city, address.country_code) == ("Acme, Inc", "Paris", "fr")
    assert address.is_default_shipping and address.is_default_billing
    assert sorted(g.name for g in ann.groups) == ["big spender", "vip"]
    assert report.counts.groups_created == 2

    stored = {d["first_name"]: d for d in raw_customers(service)}
    assert stored["Ann"]["provenance"]["imported"]["source"] == "customers_export.csv"
    assert stored["Ann"]["provenance"]["imported"]["line"] == 2
    assert stored["Ann"]["provenance"]["imported"]["format"] == "shopify"
    assert stored["Nobody"]["email"] is None and stored["Other"]["email"] is None


def test_a_second_run_changes_nothing(service):
    data = gzip.compress(shopify(ANN, BLANK, {"Email": "b@x.com", "Tags": "vip"}))
    first, _ = run_import(service, data)
    before = raw_customers(service)
    second, _ = run_import(service, data)
    assert counts(first) == (3, 0, 0, 0)
    assert counts(second) == (0, 0, 3, 0) and second.counts.groups_created == 0
    assert raw_customers(service) == before


def test_matching_by_email_updates_only_what_changed(service):
    run_import(service, shopify(ANN))
    moved = ANN | {"Default Address City": "Lyon", "Tags": "vip,new", "Last Name": ""}
    report, _ = run_import(service, shopify(moved))
    assert counts(report) == (0, 1, 0, 0)
    ann = service.list_customers({}, {"relations": ["addresses", "groups"]})[0]
    assert ann.last_name == "Lee"  # an empty Shopify cell leaves the field alone
    by_city = {a.city: a for a in ann.addresses}
    assert by_city["Lyon"].is_default_shipping and by_city["Lyon"].is_default_billing
    assert not by_city["Paris"].is_default_shipping and not by_city["Paris"].is_default_billing
    assert sorted(g.name for g in ann.groups) == ["big spender", "new", "vip"]


def test_an_account_with_the_same_email_is_not_matched(service):
    service.create_customers({"email": "ann@example.com", "has_account": True})
    report, _ = run_import(service, shopify(ANN))
    assert counts(report) == (1, 0, 0, 0)
    assert len(service.list_customers({"email": "ann@example.com"})) == 2
