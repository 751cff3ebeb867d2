"""to_search_doc / version_from_timestamp / the analysis behind exact ``q`` (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from bson import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from indexers.analysis import boundary_prefixes, digit_prefixes, fold, index_words, trigrams
from indexers.documents import SearchDoc, to_search_doc, version_from_timestamp
from indexers.keys import (
    date_sort_key,
    date_sort_key_desc,
    epoch_ms,
    id_keys,
    id_of_sort_key,
    text_keys,
    text_sort_key,
    text_sort_key_desc,
)
from tests.indexers.conftest import customer


def test_to_search_doc_maps_the_stored_customer() -> None:
    raw = customer(
        1,
        email="ann@example.com",
        first_name="Ann",
        phone="+1 (555) 123",
        phone_digits="1555123",
        has_account=True,
        created_by="user_1",
        groups=[
            {"id": "cusgc_2", "customer_group_id": "cusgroup_b", "deleted_at": None},
            {"id": "cusgc_1", "customer_group_id": "cusgroup_a", "deleted_at": None},
            {"id": "cusgc_3", "customer_group_id": "cusgroup_c", "deleted_at": datetime.now(UTC)},
        ],
    )
    doc = to_search_doc(raw, 42)
    assert isinstance(doc, SearchDoc)
    assert doc.id == "cus_000001"
    assert doc.email == "ann@example.com"
    assert doc.phone_digits == "1555123"
    assert doc.has_account is True
    assert doc.group_ids == ("cusgroup_a", "cusgroup_b")  # a soft-deleted membership is none
    assert doc.version == 42
    assert doc.deleted_at is None and not doc.deleted


def test_naive_datetimes_are_utc_and_aware_ones_converted() -> None:
    naive = datetime(2024, 5, 1, 12, 0)
    aware = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    doc = to_search_doc(customer(1, created_at=naive, updated_at=aware, deleted_at=naive), 1)
    assert doc.created_at == doc.updated_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert doc.deleted


def test_phone_digits_are_derived_when_missing() -> None:
    assert to_search_doc(customer(1, phone="(555) 12-34"), 1).phone_digits == "5551234"
    assert to_search_doc(customer(1, phone="n/a"), 1).phone_digits is None


def test_bad_ids_are_refused() -> None:
    with pytest.raises(ValueError):
        to_search_doc({**customer(1), "_id": 5}, 1)


def test_version_from_timestamp_orders_by_time_then_increment() -> None:
    a = version_from_timestamp(Timestamp(1_700_000_000, 7))
    b = version_from_timestamp(Timestamp(1_700_000_000, 8))
    c = version_from_timestamp(Timestamp(1_700_000_001, 1))
    assert a < b < c
    assert a == (1_700_000_000 << 32) | 7
    assert c < 2**63  # fits Elasticsearch's external version


def test_trigrams_and_boundary_prefixes() -> None:
    assert trigrams("doe") == ["doe"]
    assert trigrams("jo") == []
    assert boundary_prefixes("john.doe") == {"j", "jo", "d", "do"}
    # non-ASCII: up to 4 characters; U+0307 is not alphanumeric, so a word starts after it
    assert boundary_prefixes("i̇x") == {"i", "i̇", "i̇x", "x"}
    assert "." not in boundary_prefixes("john.doe")  # "." follows "n": no word starts there
    assert "oh" not in boundary_prefixes("john.doe")
    assert digit_prefixes("+1 (555) 12") == {"1", "5", "55", "12"}


def test_sort_keys_order_like_mongodb() -> None:
    values = [None, "", "A", "a", "ab", "a\x00", "a\x01b", "b", "é", "😀"]
    ids = ["cus_2", "cus_1"]
    rows = [(v, i) for v in values for i in ids]
    nulls_first = sorted(rows, key=lambda r: ((r[0] is not None, r[0] or ""), r[1]))
    assert sorted(rows, key=lambda r: text_sort_key(*r)) == nulls_first
    expected = sorted(
        sorted(rows, key=lambda r: r[1]), key=lambda r: (r[0] is not None, r[0] or ""), reverse=True
    )
    assert sorted(rows, key=lambda r: text_sort_key_desc(*r)) == expected
    for v, i in rows:
        assert id_of_sort_key(text_sort_key(v, i), "text_a") == i
        assert id_of_sort_key(text_sort_key_desc(v, i), "text_d") == i


ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZaz_-~\x00é😀"
ids = st.one_of(
    st.text(ID_CHARS, max_size=34).map(lambda t: "cus_" + t),
    st.text(ID_CHARS + "cus", max_size=8),
    st.builds(
        lambda t, r: f"cus_01J{t}{r}",
        st.text("0123456789", min_size=7, max_size=7),
        st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=16, max_size=16),
    ),
)


@given(st.lists(ids, min_size=2, max_size=30))
def test_numeric_id_keys_never_contradict_id_order(values: list[str]) -> None:
    keys = [id_keys(v) for v in sorted(values)]
    assert keys == sorted(keys)
    assert all(0 <= k < 2**64 for key in keys for k in key)


@given(st.lists(st.one_of(st.none(), st.text(ID_CHARS, max_size=20)), min_size=2, max_size=30))
def test_numeric_text_keys_never_contradict_value_order(values: list[str | None]) -> None:
    ordered = sorted(values, key=lambda v: (v is not None, v or ""))
    keys = [text_keys(v) for v in ordered]
    assert keys == sorted(keys)


def test_ids_made_in_one_millisecond_share_the_first_id_key_only() -> None:
    same_ms = ["cus_01M8NNX8NF11C5VSM71FHDSCDC", "cus_01M8NNX8NF11C5VSM71FHDSCDD"]
    next_ms = "cus_01M8NNX8NG00000000000000"
    assert id_keys(same_ms[0])[0] == id_keys(same_ms[1])[0] < id_keys(next_ms)[0]
    assert id_keys(same_ms[0]) < id_keys(same_ms[1])


def test_date_sort_keys() -> None:
    t0 = datetime(1960, 1, 1, tzinfo=UTC)
    dates = [None, t0, t0 + timedelta(milliseconds=1), datetime(2030, 1, 1, tzinfo=UTC)]
    rows = [(d, i) for d in dates for i in ("cus_2", "cus_1")]
    asc = sorted(rows, key=lambda r: (r[0] is not None, r[0] or t0, r[1]))
    assert sorted(rows, key=lambda r: date_sort_key(*r)) == asc
    desc = sorted(
        sorted(rows, key=lambda r: r[1]), key=lambda r: (r[0] is not None, r[0] or t0), reverse=True
    )
    assert sorted(rows, key=lambda r: date_sort_key_desc(*r)) == desc
    assert id_of_sort_key(date_sort_key(t0, "cus_x"), "date_a") == "cus_x"


def test_epoch_ms_truncates_like_bson() -> None:
    assert epoch_ms(datetime(1970, 1, 1, 0, 0, 0, 1999, tzinfo=UTC)) == 1
    assert epoch_ms(datetime(1969, 12, 31, 23, 59, 59, 999_500, tzinfo=UTC)) == -1


@given(st.text())
def test_fold_keeps_the_length_and_is_idempotent(text: str) -> None:
    folded = fold(text)
    assert len(folded) == len(text)  # highlight spans found in the folded text stay valid
    assert fold(folded) == folded


def test_fold_strips_accents_and_index_words_keep_both_forms() -> None:
    assert fold("Zoë Ångström-Łukasz Øre ß æ") == "Zoe Angstrom-Lukasz Ore ß æ"
    assert index_words("José Müller") == ["josé", "müller", "jose", "muller"]
    assert index_words("Jose") == ["jose"]
