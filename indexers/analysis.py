"""Index-side analysis shared by both engines: the tokens that make ``q`` exact. Pure.

``app.textsearch.matches`` is the definition of ``q``; these tokens let an inverted index answer
it exactly, with no candidate verification:

Both sides are in :func:`app.textsearch.compared` form (NFC, lower-cased):

* a word of 3+ characters matches iff its trigrams occur at consecutive positions
  of one field's trigrams (a phrase query over :func:`trigrams`; each field value is
  its own run of positions, so a phrase never spans two fields). Every third trigram (and the
  last) already pins every character (:func:`covering_trigrams`), so a phrase has at most
  ``len(word) / 3 + 1`` terms; engines keep runs at least :data:`RUN_GAP` positions apart so that
  the skipped positions cannot bridge two fields;
* a shorter word matches iff it equals one of the field's :func:`boundary_prefixes` (the
  1..4-character prefixes at every start of a word, :func:`app.textsearch.word_starts`: the
  same definition, so MongoDB's ``q`` terms and the index hold the same starts);
* phone words do the same on the phone's digits (:func:`digit_prefixes` for 1-2 digits).

Tokens come from the part of each value ``q`` looks at (:func:`app.textsearch.searched`), so no
token list or position list grows with a longer stored value.

They are made here, not by tantivy's tokenizers, because those cannot make them exactly
(tantivy-py 0.27): its n-gram tokenizer gives every gram position 0 (no phrases), its regex
tokenizer has no look-around and never overlaps matches (no word-start prefixes, no trigrams),
there is no edge n-gram filter, and its ASCII folding is not :func:`fold` and drops the unfolded
word. Elasticsearch makes the trigrams itself (its n-gram tokenizer counts positions).

Sort and filter keys (dates, order keys) are in :mod:`indexers.keys`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from app.textsearch import (
    SHORT_WORD,
    WORD_START_CHARS,
    compared,
    digits_of,
    is_phone_word,
    is_short,
    split_words,
    word_starts,
    word_starts_of,
)

__all__ = [
    "ANALYSIS_VERSION",
    "GRAM_STRIDE",
    "MAX_SHORT_NEEDLE",
    "RUN_GAP",
    "WordPlan",
    "boundary_prefixes",
    "boundary_prefixes_of",
    "covering_trigrams",
    "digit_prefixes",
    "email_words",
    "fold",
    "index_words",
    "joined_trigrams",
    "needed_words",
    "phone_suffixes",
    "plan_words",
    "trigrams",
    "words_of",
]

ANALYSIS_VERSION = 2
"""Raised whenever the tokens below change for the same stored values (so an index built
before must be rebuilt: it is part of :func:`indexers.documents.fingerprint`). 2: NFC and
Unicode word starts (1: ASCII word starts, values not normalised)."""

MAX_SHORT_NEEDLE = WORD_START_CHARS
"""Longest boundary prefix indexed (a 2-char word can lower-case to 4 chars, e.g. "İİ")."""

boundary_prefixes = word_starts
boundary_prefixes_of = word_starts_of
"""The word starts of one value / of several, as :mod:`app.textsearch` defines them."""

_WORD = re.compile(r"[^\W_]+")  # a maximal run of letters and digits


def trigrams(lowered: str) -> list[str]:
    """Return the trigrams of ``lowered`` in order (position i = the trigram starting at i)."""
    return [lowered[i : i + 3] for i in range(len(lowered) - 2)]


GRAM_STRIDE = 3
"""Offset between the trigrams of a phrase: each pins three characters, none is left out."""

RUN_GAP = GRAM_STRIDE
"""Positions between two fields' trigram runs: a phrase skips at most ``GRAM_STRIDE - 1``
positions between two terms, so it can never have terms in two runs."""


def covering_trigrams(lowered: str) -> tuple[tuple[int, str], ...]:
    """Return (offset, trigram) pairs that pin every character of ``lowered`` (3+ chars).

    A field contains ``lowered`` iff these trigrams occur at these offsets from one position of
    one run: every character lies in one of them, at its place. Every third one, and the last.
    """
    last = len(lowered) - 3
    offsets = list(range(0, last + 1, GRAM_STRIDE))
    if offsets and offsets[-1] != last:
        offsets.append(last)
    return tuple((i, lowered[i : i + 3]) for i in offsets)


def joined_trigrams(lowered: str, sep: str) -> str:
    """Return ``sep.join(trigrams(lowered))``, built in C loops (the reindex hot path)."""
    return sep.join(map("".join, zip(lowered, lowered[1:], lowered[2:], strict=False)))


_RUN_START = re.compile(r"(?<![0-9])[0-9][0-9]?")


def digit_prefixes(phone: str) -> set[str]:
    """Return the 1-2 digit prefixes at each start of a digit run of the raw ``phone``."""
    found = _RUN_START.findall(phone)  # one regex pass: the reindex runs this per customer
    out = set(found)
    out.update(prefix[0] for prefix in found)
    return out


@dataclass(frozen=True, slots=True)
class WordPlan:
    """How one word of ``q`` is looked up; it matches if any alternative does.

    ``text_trigrams`` (3+ chars; :func:`covering_trigrams` of the lower-cased word) or
    ``text_prefix`` (shorter) against the text fields, and ``digit_trigrams`` /
    ``digit_prefix`` against the phone digits for phone words.
    """

    word: str
    text_trigrams: tuple[tuple[int, str], ...] = ()
    text_prefix: str | None = None
    digit_trigrams: tuple[tuple[int, str], ...] = ()
    digit_prefix: str | None = None


def needed_words(q: str | None) -> list[str]:
    """Return the words of ``q`` that another word does not already imply.

    A repeated word (in any case) is dropped, and so is a 3+ character word inside a longer one
    when neither is a phone word: whatever field contains the longer contains it. So a query
    costs what its distinct, longest words cost, not what its repetitions do.
    """
    words = list({compared(word): word for word in split_words(q)}.values())

    def implied(word: str) -> bool:
        needle = compared(word)
        return (
            not is_short(word)
            and not is_phone_word(word)
            and any(
                other is not word
                and not is_short(other)
                and not is_phone_word(other)
                and needle in compared(other)
                and needle != compared(other)
                for other in words
            )
        )

    return [word for word in words if not implied(word)]


def plan_words(q: str | None) -> list[WordPlan]:
    """Return the lookup plan of every needed word of ``q`` (empty: no condition)."""
    plans: list[WordPlan] = []
    for word in needed_words(q):
        needle = compared(word)
        text_trigrams: tuple[tuple[int, str], ...] = ()
        text_prefix = None
        if not is_short(word):
            text_trigrams = covering_trigrams(needle)
        elif len(needle) <= MAX_SHORT_NEEDLE:
            text_prefix = needle
        else:  # pragma: no cover - no character lower-cases to more than 2
            raise ValueError(f"word {word!r} lower-cases to more than {MAX_SHORT_NEEDLE} chars")
        digit_trigrams: tuple[tuple[int, str], ...] = ()
        digit_prefix = None
        if is_phone_word(word):
            digits = digits_of(word)
            if len(digits) >= SHORT_WORD:
                digit_trigrams = covering_trigrams(digits)
            else:
                digit_prefix = digits
        plans.append(WordPlan(word, text_trigrams, text_prefix, digit_trigrams, digit_prefix))
    return plans


# -- ranked lookup tokens -------------------------------------------------------------------
_FOLD_LETTERS = str.maketrans("øØłŁđĐħĦŧŦı", "oOlLdDhHtTi")  # no decomposition, one base


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    return base if len(base) == 1 else ch


def fold(text: str) -> str:
    """Strip accents for the ranked lookup ("Zoë" ↔ "Zoe", "Müller" ↔ "Muller").

    Length-preserving (a character becomes its one-character base letter, or stays: "ß",
    "æ"), so a match found in the folded text marks the same span of the original. The exact
    ``q`` does not fold: it must return what MongoDB's query returns.
    """
    if text.isascii():
        return text
    return "".join(map(_fold_char, text)).translate(_FOLD_LETTERS)


def words_of(value: str | None) -> list[str]:
    """Return the lower-cased words of ``value`` (split at anything not a letter or digit)."""
    return _WORD.findall(value.lower()) if value else []


def _with_folded(tokens: list[str]) -> list[str]:
    if "".join(tokens).isascii():  # most values: folding changes nothing (reindex hot path)
        return list(dict.fromkeys(tokens))
    return list(dict.fromkeys([*tokens, *map(fold, tokens)]))


def index_words(value: str | None) -> list[str]:
    """Return the word tokens the ranked lookup indexes: each word, and its folded form."""
    return _with_folded(words_of(value))


def email_words(email: str | None) -> list[str]:
    """Return the tokens an email is found by: local part, domain, each of their words, and
    their folded forms."""
    if not email:
        return []
    email = email.lower()
    local, _, domain = email.partition("@")
    out = [t for t in (local, domain) if t]
    out += _WORD.findall(local)
    out += _WORD.findall(domain)
    return _with_folded(out)


def phone_suffixes(digits: str | None, minimum: int = 4) -> list[str]:
    """Return every suffix of the phone digits with at least ``minimum`` digits."""
    if not digits:
        return []
    return [digits[i:] for i in range(len(digits) - minimum + 1)]
