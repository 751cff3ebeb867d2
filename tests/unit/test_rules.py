"""Pure rules: ids, metadata merge, default flags, q definition, LIKE patterns."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import pytest

from app.errors import InvalidData
from app.ids import new_id, new_ulid
from app.service.mongo import all_of
from app.service.mongo_filters import like_to_regex
from app.service.rules import apply_default_flags, check_one_default_per_kind, merge_metadata
from app.textsearch import is_phone_word, matches


def test_ulids_are_monotonic_within_a_millisecond_and_across_threads():
    made = [new_ulid() for _ in range(20_000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", u) for u in made[:100])
    per_thread: list[list[str]] = [[] for _ in range(4)]

    def make(out: list[str]) -> None:
        out.extend(new_id("cus") for _ in range(2_000))

    threads = [threading.Thread(target=make, args=(out,)) for out in per_thread]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for out in per_thread for i in out]
    assert len(set(everything)) == 8_000
    assert all(out == sorted(out) for out in per_thread)


def test_merge_metadata():
    assert merge_metadata({"a": 1, "b": 2}, {"a": "", "c": None}) == {"b": 2, "c": None}
    assert merge_metadata({"a": 1}, {}) == {}
    assert merge_metadata({"a": 1}, None) is None
    assert merge_metadata(None, {"x": ""}) == {}


def test_default_flags():
    now = datetime.now(UTC)
    addresses = [
        {"id": "a", "is_default_shipping": True, "is_default_billing": True},
        {"id": "b", "is_default_shipping": True, "is_default_billing": False},
    ]
    apply_default_flags(addresses, ["b"], now)
    assert [a["is_default_shipping"] for a in addresses] == [False, True]
    assert addresses[0]["is_default_billing"] is True and addresses[0]["updated_at"] == now
    with pytest.raises(InvalidData):
        check_one_default_per_kind("cus_1", [{"is_default_billing": True}] * 2)
    check_one_default_per_kind(
        "cus_1", [{"is_default_billing": True}, {"is_default_shipping": True}]
    )


@pytest.mark.parametrize(
    ("q", "record", "expected"),
    [
        ("est2@", {"email": "test2@email.com"}, True),
        ("do", {"last_name": "Doe"}, True),
        ("do", {"last_name": "Eldon"}, False),
        ("on", {"last_name": "Eldon"}, False),
        ("don", {"last_name": "Eldon"}, True),
        ("john doe", {"first_name": "John", "last_name": "Doe"}, True),
        ("john doe", {"first_name": "John", "last_name": "Smith"}, False),
        ("555.123", {"phone": "(555) 123"}, True),
        ("4567", {"phone": "+1 555 123 4567"}, True),
        ("%", {"company_name": "100%"}, False),
        ("0%", {"company_name": "100%"}, False),
        ("00%", {"company_name": "100%"}, True),
        ("", {}, True),
    ],
)
def test_q_definition(q, record, expected):
    assert matches(q, record) is expected


def test_phone_words():
    assert is_phone_word("+1(555)-12.3") and not is_phone_word("+-()") and not is_phone_word("5a")


def test_like_patterns_escape_everything_else():
    assert like_to_regex("a%b_c.*") == r"^a.*b.c\.\*$"


def test_all_of_merges_into_one_flat_document():
    assert all_of({}, {"a": 1}) == {"a": 1}
    assert all_of({"_id": 1}, {"deleted_at": None}) == {"_id": 1, "deleted_at": None}
    assert all_of({"a": 1}, {"$and": [{"a": 2}, {"b": 3}]}) == {"a": 1, "b": 3, "$and": [{"a": 2}]}
