"""The words of ``q`` (``app.textsearch``): Unicode letters and digits, NFC, one definition."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from app.textsearch import compared, is_short, matches, stored_terms, word_starts, word_starts_of
from indexers import analysis, documents


def test_the_unicode_word_class_is_exactly_str_isalnum() -> None:
    """``word_starts`` relies on Python's ``[^\\W_]`` being ``str.isalnum()``: every code point."""
    word = re.compile(r"[^\W_]")
    wrong = [
        hex(i) for i in range(sys.maxunicode + 1) if bool(word.match(chr(i))) != chr(i).isalnum()
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("q", "value", "found"),
    [
        ("le", "Adèle", False),
        ("Li", "Amélie", False),
        ("Go", "Bégot", False),
        ("ad", "Adèle", True),
        ("èl", "Adèle", False),
        ("dè", "Adèle", False),
        ("dèl", "Adèle", True),
        ("go", "Bé-got", True),
        ("go", "Bé_got", True),  # "_" is not a letter: a word starts after it
        ("go", "l'got", True),
        ("ne", "Анна Nеvа", False),  # "е" is Cyrillic: "ne" is not there
        ("ан", "Анна", True),
        ("нн", "Анна", False),
        ("πα", "Παπαδόπουλος", True),
        ("πα", "Οπα", False),
        ("12", "ab12", False),  # digits are part of the word
        ("12", "ab 12", True),
        ("ab", "漢字ab", False),  # no spaces in Chinese: one run with what follows
        ("漢", "漢字ab", True),
        ("字", "漢字ab", False),  # the known limitation: only a run's start
    ],
)
def test_short_words_match_at_unicode_word_starts(q: str, value: str, found: bool) -> None:
    assert matches(q, {"first_name": value}, ["first_name"], phone_field=None) is found


def test_text_is_compared_in_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Adèle Éa")
    assert compared(nfd) == "adèle éa" == compared("ADÈLE ÉA")
    assert is_short(unicodedata.normalize("NFD", "dè"))  # 2 characters in NFC, 3 in NFD
    assert matches(unicodedata.normalize("NFD", "ÉA"), {"email": "adèle éa"}, ["email"])
    assert not matches(unicodedata.normalize("NFD", "dè"), {"email": "adèle"}, ["email"])
    assert word_starts(compared(nfd)) == word_starts("adèle éa")


def test_word_starts_are_one_definition_for_mongodb_and_the_index() -> None:
    texts = ["adèle o'brien", "x_y.z", "i̇x"]
    assert analysis.boundary_prefixes_of(texts) == word_starts_of(texts)
    stored = stored_terms(texts)["starts"]
    everything = word_starts_of([compared(t) for t in texts])
    assert set(stored) <= everything  # each is a start, and each start begins one of them
    assert {prefix for prefix in everything if any(s.startswith(prefix) for s in stored)} == (
        everything
    )
    assert stored_terms(["ab abc", "a"])["starts"] == ["ab"]  # "a" begins "ab": left out
    assert stored_terms([None, ""]) == {"text": [], "starts": []}
    assert "lè" not in word_starts("adèle")
    assert {"ad", "adè", "adèl"} <= word_starts("adèle")  # up to 4 characters beyond ASCII


def test_the_analysis_version_is_part_of_the_index_fingerprint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A change of the tokens changes the fingerprint, so indexes built before are rebuilt."""
    before = documents.fingerprint({"engine": "x"})
    monkeypatch.setattr(documents, "ANALYSIS_VERSION", analysis.ANALYSIS_VERSION + 1)
    assert documents.fingerprint({"engine": "x"}) != before
