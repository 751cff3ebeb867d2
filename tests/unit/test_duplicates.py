"""Duplicate detection without I/O: normalisers, blocking keys, scores and reasons, clusters."""

from __future__ import annotations

from typing import Any

import pytest

from app.duplicates import (
    DEFAULT_MIN_SCORE,
    DetectionOptions,
    ScoredPair,
    blocking_keys,
    cluster_pairs,
    profile_of,
    score_pair,
    scored_pairs,
)
from app.duplicates.names import compare_names
from app.duplicates.normalize import (
    fold_text,
    normalize_email,
    normalize_phone,
    normalize_postcode,
    normalize_street,
    phone_key,
)
from app.duplicates.scoring import CONFLICT_CAP

OPTIONS = DetectionOptions()


def customer(_id: str = "cus_1", **fields: Any) -> Any:
    """The profile of a stored customer; ``street``/``postcode`` make one address."""
    street, postcode = fields.pop("street", None), fields.pop("postcode", None)
    addresses = fields.pop("addresses", [])
    if street or postcode:
        addresses = [*addresses, {"address_1": street, "postal_code": postcode}]
    return profile_of({"_id": _id, "addresses": addresses, **fields}, OPTIONS)


JOHN = {"first_name": "John", "last_name": "Smith"}


# -- normalisers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("  Zoë-Anne O'Brien ", "zoe anne o brien"),
        ("MÜLLER", "muller"),
        ("Łukasz Żółć", "lukasz zolc"),
        ("Straße", "strasse"),
        ("Иван", "иван"),
        ("...", None),
        ("", None),
        (None, None),
    ],
)
def test_fold_text_removes_accents_case_and_punctuation(
    raw: str | None, folded: str | None
) -> None:
    assert fold_text(raw) == folded


def test_emails_are_trimmed_and_lower_cased_and_folded_only_when_asked() -> None:
    assert normalize_email(" John.Doe+shop@Gmail.COM ") == "john.doe+shop@gmail.com"
    assert normalize_email(" John.Doe+shop@Gmail.COM ", folding=True) == "johndoe@gmail.com"
    # Dots are folded only at providers that ignore them; +tags everywhere.
    assert normalize_email("john.doe+x@example.com", folding=True) == "john.doe@example.com"
    assert normalize_email("not-an-email") is None
    assert normalize_email(None) is None


@pytest.mark.parametrize(
    ("phones", "region"),
    [
        (["+49 30 1234567", "0049 30 1234567", "030 1234567", "030/123 45 67"], "US"),
        (["+49 30 1234567", "030 1234567"], "DE"),
        (["+49 30 1234567", "030 1234567"], None),
        (["+1 212 555 0100", "1-212-555-0100", "(212) 555-0100", "212.555.0100"], "US"),
        (["+44 20 7946 0958", "020 7946 0958"], "US"),
    ],
)
def test_national_and_international_forms_of_a_phone_share_a_key(
    phones: list[str], region: str | None
) -> None:
    keys = {phone_key(phone, region) for phone in phones}
    assert len(keys) == 1 and None not in keys


def test_phones_are_e164_when_readable_and_junk_is_ignored() -> None:
    assert normalize_phone("(212) 555-0100", "US") == "+12125550100"
    assert normalize_phone("0049 30 1234567") == "+49301234567"
    assert normalize_phone("030 1234567", "DE") == "+49301234567"
    assert normalize_phone("030 1234567", None) == "0301234567"  # no region: its digits
    assert phone_key("+1 212 555 0100") != phone_key("+1 212 555 0199")
    assert phone_key("12-34") is None and normalize_phone("ext. 5") is None
    assert phone_key("(212) 555-0100 ext. 12") == phone_key("+1 212 555 0100")
    assert phone_key("212-555-0100 x7") == phone_key("212.555.0100")


def test_postcodes_and_streets_compare_without_formatting() -> None:
    assert normalize_postcode("sw1a 1aa") == normalize_postcode("SW1A1AA") == "SW1A1AA"
    assert normalize_street("12 Baker Street") == normalize_street("12 baker st.")
    assert normalize_street("Hauptstraße 5") == normalize_street("Hauptstr. 5")
    assert normalize_street("12 Baker Street") != normalize_street("14 Baker Street")


def test_names_compare_in_either_order_with_typos_and_initials() -> None:
    swapped = compare_names("smith", "john", "john", "smith")
    assert swapped is not None and swapped.similarity == 1.0 and swapped.swapped
    typo = compare_names("john", "smith", "jhon", "smtih")
    assert typo is not None and 0.9 < typo.similarity < 1 and not typo.conflict
    initial = compare_names("j", "smith", "john", "smith")
    assert initial is not None and not initial.conflict
    family = compare_names("anna", "smith", "peter", "smith")
    assert family is not None and family.conflict
    assert compare_names(None, None, "john", "smith") is None
    whole = compare_names("smith john", None, "john", "smith")  # a whole name in one field
    assert whole is not None and whole.similarity == 1.0


# -- scores and reasons --------------------------------------------------------------------------
def test_same_email_is_enough_and_says_so() -> None:
    guest = customer("cus_1", email="Ann@Example.com", has_account=False)
    account = customer("cus_2", email="ann@example.com ", has_account=True)
    match = score_pair(guest, account)
    assert match.score >= DEFAULT_MIN_SCORE
    assert match.reasons == ("same email",)


def test_each_reason_is_reported() -> None:
    a = customer(
        "cus_1",
        email="j.smith@example.com",
        phone="+1 212 555 0100",
        company_name="ACME",
        street="12 Baker Street",
        postcode="10001",
        **JOHN,
    )
    b = customer(
        "cus_2",
        email="j.smtih@example.com",
        phone="(212) 555-0100",
        company_name="Acme",
        street="12 baker st",
        postcode="10001",
        first_name="Jon",
        last_name="Smith",
    )
    match = score_pair(a, b)
    assert match.score == 1.0
    assert set(match.reasons) == {
        "same phone",
        "same postcode and street",
        "similar email 0.86",
        "same company",
        f"name {compare_names('john', 'smith', 'jon', 'smith').similarity:.2f}",  # type: ignore[union-attr]
    }
    assert match.reasons[0] == "same phone"  # strongest evidence first


def test_same_postcode_alone_and_swapped_names_are_named() -> None:
    a = customer("cus_1", postcode="10001", street="1 Main St", **JOHN)
    b = customer("cus_2", postcode="10001", street="9 Oak Rd", first_name="Smith", last_name="John")
    assert score_pair(a, b).reasons == ("name 1.00, swapped", "same postcode")


def test_phone_with_a_matching_name_is_a_duplicate_phone_alone_is_not() -> None:
    a = customer("cus_1", phone="+49 30 1234567", **JOHN)
    b = customer("cus_2", phone="030 1234567", first_name="Jon", last_name="Smith")
    assert score_pair(a, b).score >= DEFAULT_MIN_SCORE
    nameless = customer("cus_3", phone="030 1234567")
    assert score_pair(a, nameless).score < DEFAULT_MIN_SCORE


def test_namesakes_with_nothing_else_in_common_stay_below_the_threshold() -> None:
    a = customer("cus_1", email="john.smith@gmail.com", phone="+1 212 555 0100", **JOHN)
    b = customer("cus_2", email="johnsmith2@yahoo.com", phone="+1 646 555 0199", **JOHN)
    match = score_pair(a, b)
    assert match.score < DEFAULT_MIN_SCORE
    assert match.reasons == ("name 1.00",)


def test_emails_made_of_similar_names_are_not_a_typo() -> None:
    eric = customer("cus_1", email="madden.eric@yahoo.com", first_name="Eric", last_name="Madden")
    erica = customer(
        "cus_2", email="madden.erica@yahoo.com", first_name="Erica", last_name="Madden"
    )
    assert score_pair(eric, erica).score < DEFAULT_MIN_SCORE


def test_family_members_at_one_address_are_not_duplicates() -> None:
    home = {"street": "12 Baker Street", "postcode": "10001", "phone": "+1 212 555 0100"}
    home["company_name"] = "Smith & Sons"  # together more than the cap: the cap holds it
    anna = customer("cus_1", first_name="Anna", last_name="Smith", **home)
    peter = customer("cus_2", first_name="Peter", last_name="Smith", **home)
    match = score_pair(anna, peter)
    assert match.score <= CONFLICT_CAP < DEFAULT_MIN_SCORE
    assert "different first names" in match.reasons


def test_colleagues_sharing_a_company_phone_are_not_duplicates() -> None:
    office = {"phone": "+1 212 555 0100", "company_name": "ACME"}
    a = customer("cus_1", first_name="Maria", last_name="Garcia", **office)
    b = customer("cus_2", first_name="Tom", last_name="Becker", **office)
    match = score_pair(a, b)
    assert match.score < DEFAULT_MIN_SCORE
    assert "different names" in match.reasons


def test_a_name_missing_on_the_customer_is_read_from_its_address() -> None:
    guest = customer(
        "cus_1", addresses=[{"first_name": "Zoë", "last_name": "Müller", "postal_code": "10115"}]
    )
    assert (guest.first, guest.last) == ("zoe", "muller")
    deleted = customer("cus_2", addresses=[{"first_name": "X", "deleted_at": "2026-01-01"}])
    assert deleted.first is None


# -- blocking and the scan -----------------------------------------------------------------------
def test_blocking_keys_survive_a_typo_in_either_name_and_swapped_names() -> None:
    john = blocking_keys(customer("cus_1", **JOHN))
    assert john & blocking_keys(customer("cus_2", first_name="Jon", last_name="Smith"))
    assert john & blocking_keys(customer("cus_3", first_name="John", last_name="Smtih"))
    assert john & blocking_keys(customer("cus_4", first_name="Smith", last_name="John"))
    assert not john & blocking_keys(customer("cus_5", first_name="Mary", last_name="Jones"))
    assert john & blocking_keys(customer("cus_6", first_name="John Smith"))


def test_the_scan_finds_pairs_only_through_shared_keys_and_each_once() -> None:
    profiles = [
        customer("cus_a", email="ann@example.com", **JOHN),
        customer("cus_b", email="ANN@example.com", has_account=True),
        customer("cus_c", email="other@example.com", first_name="Mary", last_name="Jones"),
    ]
    pairs = scored_pairs(profiles, min_score=DEFAULT_MIN_SCORE)
    assert [(p.a, p.b) for p in pairs] == [("cus_a", "cus_b")]


def test_huge_blocks_are_compared_in_windows_not_all_pairs() -> None:
    office = [
        customer(f"cus_{n:03d}", phone="+1 212 555 0100", first_name=f"P{n}", last_name="Q")
        for n in range(300)
    ]
    seen: list[int] = []
    scored_pairs(office, min_score=0.0, progress=seen.append)
    pairs = scored_pairs(office, min_score=0.0)
    assert len(pairs) < 300 * 299 // 2 // 5  # bounded by the window, not quadratic
    assert seen[-1] == 300


# -- clusters ------------------------------------------------------------------------------------
def test_clusters_are_transitive_and_score_their_weakest_link() -> None:
    pairs = [
        ScoredPair("cus_a", "cus_b", 0.9, ("same email",)),
        ScoredPair("cus_b", "cus_c", 0.7, ("same phone", "name 1.00")),
        ScoredPair("cus_a", "cus_c", 0.3, ("name 1.00",)),  # below: links nothing
        ScoredPair("cus_x", "cus_y", 0.95, ("same email",)),
    ]
    clusters = cluster_pairs(pairs, 0.6)
    assert [c.customer_ids for c in clusters] == [("cus_x", "cus_y"), ("cus_a", "cus_b", "cus_c")]
    assert [c.score for c in clusters] == [0.95, 0.7]
    assert clusters[1].reasons == ("same email", "same phone", "name 1.00")
    assert clusters[1].as_json() == {
        "customer_ids": ["cus_a", "cus_b", "cus_c"],
        "score": 0.7,
        "reasons": ["same email", "same phone", "name 1.00"],
    }
    assert cluster_pairs(pairs, 0.99) == []
