"""Index-side analysis shared by both engines: the tokens that make ``q`` exact. Pure.

``app.textsearch.matches`` is the definition of ``q``; these tokens let an inverted index answer
it exactly, with no candidate verification:

* a word of 3+ characters matches iff its lower-cased trigrams occur at consecutive positions
  of one field's lower-cased trigrams (a phrase query over :func:`trigrams`; each field value is
  its own run of positions, so a phrase never spans two fields). Every third trigram (and the
  last) already pins every character (:func:`covering_trigrams`), so a phrase has at most
  ``len(word) / 3 + 1`` terms; engines keep runs at least :data:`RUN_GAP` positions apart so that
  the skipped positions cannot bridge two fields;
* a shorter word matches iff it equals one of the field's :func:`boundary_prefixes` (the
  1..4-character prefixes at every start of a word);
* phone words do the same on the phone's digits (:func:`digit_prefixes` for 1-2 digits).

Tokens come from the part of each value ``q`` looks at (:func:`app.textsearch.searched`), so no
token list or position list grows with a longer stored value.

Sort keys turn Medusa's ``order`` plus the ``id`` tie-breaker into one string per document whose
code-point order is the wanted order, so an engine can sort and page on one keyword column.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from app.textsearch import SHORT_WORD, digits_of, is_phone_word, split_words

__all__ = [
    "GRAM_STRIDE",
    "MAX_SHORT_NEEDLE",
    "RUN_GAP",
    "TEXT_FIELDS",
    "WordPlan",
    "boundary_prefixes",
    "boundary_prefixes_of",
    "covering_trigrams",
    "date_sort_key",
    "date_sort_key_desc",
    "digit_prefixes",
    "email_words",
    "epoch_ms",
    "fold",
    "id_of_sort_key",
    "index_words",
    "joined_trigrams",
    "needed_words",
    "phone_suffixes",
    "plan_words",
    "text_sort_key",
    "text_sort_key_desc",
    "trigrams",
    "words_of",
]

TEXT_FIELDS = ("email", "first_name", "last_name", "company_name", "phone")
"""The fields ``q`` searches, in :mod:`app.textsearch` order."""

MAX_SHORT_NEEDLE = 4
"""Longest boundary prefix indexed (a 2-char word can lower-case to 4 chars, e.g. "İİ")."""

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_WORD_SPLIT = re.compile(r"[\W_]+")


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


_WORD_START = re.compile(r"(?<![A-Za-z0-9])")


_ASCII_STARTS = re.compile(r"(?<![A-Za-z0-9])(?=(.{1,2}))", re.DOTALL)


def boundary_prefixes(lowered: str) -> set[str]:
    """Return the short prefixes at each start of a word of ``lowered``.

    A word starts at 0 and after any character that is not ASCII alphanumeric, exactly as
    ``app.textsearch`` decides it. Prefixes are 1-2 characters, or up to 4 in non-ASCII text
    (a 2-character word can lower-case to 4 characters, e.g. "İİ").
    """
    if lowered.isascii():
        found = _ASCII_STARTS.findall(lowered)
        out = set(found)
        out.update(prefix[0] for prefix in found)
        return out
    longest = MAX_SHORT_NEEDLE
    out = set()
    size = len(lowered)
    for match in _WORD_START.finditer(lowered):
        start = match.start()
        if start < size:
            out.add(lowered[start : start + 1])
            for width in range(2, longest + 1):
                if start + width <= size:
                    out.add(lowered[start : start + width])
    return out


_JOINED_STARTS = re.compile(r"(?<![A-Za-z0-9])(?=([^\x00]{1,2}))")


def boundary_prefixes_of(lowered: list[str]) -> set[str]:
    """Return the union of :func:`boundary_prefixes` of several values.

    ASCII values without NUL are scanned as one NUL-joined string (one regex call per
    customer in the reindex): NUL is not alphanumeric, so a word starts after it exactly as
    at the start of a value, and no prefix crosses it.
    """
    joined = "\x00".join(lowered)
    if joined.isascii() and joined.count("\x00") == len(lowered) - 1:
        found = _JOINED_STARTS.findall(joined)
        out = set(found)
        out.update(prefix[0] for prefix in found)
        return out
    out = set()
    for value in lowered:
        out |= boundary_prefixes(value)
    return out


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
    words = list({word.lower(): word for word in split_words(q)}.values())

    def implied(word: str) -> bool:
        needle = word.lower()
        return (
            len(word) >= SHORT_WORD
            and not is_phone_word(word)
            and any(
                other is not word
                and len(other) >= SHORT_WORD
                and not is_phone_word(other)
                and needle in other.lower()
                and needle != other.lower()
                for other in words
            )
        )

    return [word for word in words if not implied(word)]


def plan_words(q: str | None) -> list[WordPlan]:
    """Return the lookup plan of every needed word of ``q`` (empty: no condition)."""
    plans: list[WordPlan] = []
    for word in needed_words(q):
        needle = word.lower()
        text_trigrams: tuple[tuple[int, str], ...] = ()
        text_prefix = None
        if len(word) >= SHORT_WORD:
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
    return [w for w in _WORD_SPLIT.split(value.lower()) if w] if value else []


def _with_folded(tokens: list[str]) -> list[str]:
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
    out.extend(words_of(local))
    out.extend(words_of(domain))
    return _with_folded(out)


def phone_suffixes(digits: str | None, minimum: int = 4) -> list[str]:
    """Return every suffix of the phone digits with at least ``minimum`` digits."""
    if not digits:
        return []
    return [digits[i:] for i in range(len(digits) - minimum + 1)]


# -- sort keys ------------------------------------------------------------------------------
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(value: datetime) -> int:
    """Return milliseconds since the epoch, truncated exactly as BSON stores a datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


_DATE_OFFSET = 1 << 62  # makes pre-1970 (negative) milliseconds sort correctly as hex


def date_sort_key(value: datetime | None, id: str) -> str:
    """Return a key ordering by (date, id), nulls first; ``id`` is the suffix after 16 chars."""
    if value is None:
        return "0" * 16 + id
    return f"{epoch_ms(value) + _DATE_OFFSET:016x}" + id


def _escape(value: str) -> str:
    # "\x00" ends the value, so it must not occur inside; the escape keeps code-point order.
    return value.replace("\x01", "\x01\x02").replace("\x00", "\x01\x01")


def text_sort_key(value: str | None, id: str) -> str:
    """Return a key ordering by (value, id) with nulls first, in code-point (= BSON) order."""
    if value is None:
        return "\x00" + id
    return "\x01" + _escape(value) + "\x00" + id


_DATE_MAX = (1 << 63) - 1


def date_sort_key_desc(value: datetime | None, id: str) -> str:
    """Return a key whose ascending order is (date DESC with nulls last, id ASC)."""
    if value is None:
        return "~" * 16 + id
    return f"{_DATE_MAX - (epoch_ms(value) + _DATE_OFFSET):016x}" + id


class _Inverted(dict[int, str]):
    """``str.translate`` table: code point c → 3 chars in U+0001..U+0080 encoding 0x10FFFF - c."""

    def __missing__(self, code: int) -> str:
        inv = 0x10FFFF - code
        out = chr(1 + (inv >> 14)) + chr(1 + ((inv >> 7) & 0x7F)) + chr(1 + (inv & 0x7F))
        self[code] = out
        return out


_INVERTED = _Inverted()


def text_sort_key_desc(value: str | None, id: str) -> str:
    """Return a key whose ascending order is (value DESC with nulls last, id ASC).

    Each code point becomes three characters below U+0081 that sort in reverse; U+0081 ends the
    value (so a value sorts after every longer value it prefixes) and U+0082 marks null.
    """
    if value is None:
        return "\x82" + id
    return value.translate(_INVERTED) + "\x81" + id


def id_of_sort_key(key: str, kind: str) -> str:
    """Return the id a sort key ends with (``kind``: id, date_a, date_d, text_a or text_d)."""
    if kind == "id":
        return key
    if kind in ("date_a", "date_d"):
        return key[16:]
    if kind == "text_a":
        return key[1:] if key.startswith("\x00") else key[key.index("\x00", 1) + 1 :]
    return key[1:] if key.startswith("\x82") else key[key.index("\x81") + 1 :]


# -- numeric order keys ----------------------------------------------------------------------
# An engine sorts numbers far faster than strings, so every order is served by numeric keys that
# never contradict the exact order (a < b ⇒ key(a) <= key(b)); documents with equal keys are
# put in exact order afterwards from their stored values (see EmbeddedBackend's pager).


_CODES = bytes(range(1, 0x7F)) + b"\x7f" * 130
"""Byte code of each ASCII byte: c → c + 1 below U+007E (so "no more characters", 0, sorts
first); U+007E and above → 0x7F, where the key stops (later characters are not encoded)."""
ID_PREFIX = "cus_"
TEXT_KEY_CHARS = 14


def _codes(value: str, size: int) -> tuple[bytes, bool]:
    """Return ``size`` order-preserving byte codes of ``value`` and whether they capture it all."""
    head = value[:size]
    if not head.isascii():
        cut = next(i for i, char in enumerate(head) if ord(char) > 0x7F)
        head = head[:cut] + "\x7f"
    raw = head.encode("ascii").translate(_CODES)
    stop = raw.find(b"\x7f")
    if stop != -1:
        raw = raw[: stop + 1]
    return raw.ljust(size, b"\x00"), stop == -1 and len(value) <= size


def id_keys(id: str) -> tuple[int, int, int, int]:
    """Return four u64 that never contradict id order; "cus_" + ULID ids never tie."""
    if id.startswith(ID_PREFIX):
        cls, rest = 1, id[len(ID_PREFIX) :]
    else:
        cls, rest = (0 if id < ID_PREFIX else 2), id
    codes, _ = _codes(rest, 31)
    return (
        (cls << 62) | int.from_bytes(codes[:7]),
        int.from_bytes(codes[7:15]),
        int.from_bytes(codes[15:23]),
        int.from_bytes(codes[23:31]),
    )


def text_keys(value: str | None) -> tuple[int, int]:
    """Return two u64 that never contradict the value order (nulls first: (0, 0)).

    The first 14 characters are kept as byte codes (ASCII below U+007E exactly; the first other
    character ends the key). The lowest bit of the second key is 1 when the value is *not* fully
    captured, so equal keys with that bit clear mean equal values.
    """
    if value is None:
        return 0, 0
    codes, full = _codes(value, TEXT_KEY_CHARS)
    return (1 << 62) | int.from_bytes(codes[:7]), (int.from_bytes(codes[7:]) << 1) | (not full)
