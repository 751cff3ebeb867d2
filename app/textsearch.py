"""The meaning of ``q``: one pure definition shared by MongoDB, the search index and tests.

``q`` is literal text (no wildcards), compared case-insensitively. It is split at whitespace and
**every** word must match at least one searched field of the entity (the fields declared with
a place in ``q``, see :attr:`app.entities.Entity.q_fields`):

* a word of 3+ characters matches anywhere inside the field ("est2@" finds "test2@email.com");
* a shorter word matches only at the start of a word of the field, where the field's words are
  split at non-alphanumeric characters ("do" finds "Doe" and "john.doe@x.com", not "Eldon");
* on customers, a word made only of digits and phone punctuation (``+-().``/) with at least one
  digit is also compared digits-to-digits with the phone, with the same 3+/shorter rule applied
  to the digits ("5551234" finds "555-1234", "(555)" finds "+1 555 123 4567").

So "John Doe" finds first_name John + last_name Doe, and "%" or "_" only match themselves.
``matches`` is the executable definition; ``app.service.mongo_filters`` turns the same rule
into a MongoDB query (with the regexes built here) and the search index serves it with exactly
the same results.

Bounded cost: ``q`` itself is at most :data:`~app.limits.MAX_Q_CHARS` characters and
:data:`~app.limits.MAX_Q_WORDS` words (:func:`check_q`), and it looks at the first
:data:`SEARCHED_CHARS` characters of each field (of a phone's digits, for the digit rule). Every
value within the input limits is searched whole; a longer value stored before the limits existed
cannot make a search slower than a value of that size does (no regex, index token or position
list grows with it).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.entities import CUSTOMER
from app.entities.values import digits_of
from app.errors import InvalidData
from app.limits import MAX_Q_CHARS, MAX_Q_WORDS, MAX_TEXT_CHARS

__all__ = [
    "MAX_REGEX_CHARS",
    "SEARCHED_CHARS",
    "SHORT_WORD",
    "Highlights",
    "Range",
    "check_q",
    "check_word",
    "digit_regex",
    "digits_of",
    "is_phone_word",
    "matches",
    "phone_regex",
    "searched",
    "searched_digits",
    "split_words",
    "text_regex",
    "word_matches",
]

SHORT_WORD = 3
"""Words shorter than this only match at the start of a word of the field."""

SEARCHED_CHARS = MAX_TEXT_CHARS
"""``q`` looks at this many leading characters of a field (every value within the limits)."""

Range = tuple[int, int]
"""``[start, end)`` in characters (code points, as Python counts them) of a stored value."""
Highlights = dict[str, list[Range]]
"""What a ranked hit matched: field → sorted, merged ranges of its stored value. Ranges, not
marked-up text, so that a value holding markup (``a<em>b</em>``) cannot pass for a match."""

_PHONE_PUNCTUATION = frozenset("+-().")
_DIGITS = frozenset("0123456789")
(_PHONE, _) = CUSTOMER.q_digits[0]
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_NOT_DIGIT = re.compile(r"[^0-9]")


def split_words(q: str | None) -> list[str]:
    """Return the words of ``q`` (empty for ``None`` or blank text: no filter)."""
    return q.split() if q else []


def check_q(q: str) -> None:
    """Refuse a ``q`` over the limits: its cost grows with its length and its words."""
    if len(q) > MAX_Q_CHARS:
        raise InvalidData(f"Invalid request: Field 'q' may have at most {MAX_Q_CHARS} characters")
    if len(split_words(q)) > MAX_Q_WORDS:
        raise InvalidData(f"Invalid request: Field 'q' may have at most {MAX_Q_WORDS} words")


def searched(value: str) -> str:
    """The part of a field value ``q`` looks at."""
    return value[:SEARCHED_CHARS]


def searched_digits(phone: str | None) -> str:
    """The phone digits the digit rule looks at (the first :data:`SEARCHED_CHARS`)."""
    return digits_of(phone)[:SEARCHED_CHARS]


def is_phone_word(word: str) -> bool:
    """Whether ``word`` is digits and phone punctuation, with at least one digit."""
    return any(c in _DIGITS for c in word) and all(
        c in _DIGITS or c in _PHONE_PUNCTUATION for c in word
    )


def _starts_a_word(needle: str, haystack: str, separator: re.Pattern[str]) -> bool:
    start = haystack.find(needle)
    while start != -1:
        if start == 0 or separator.match(haystack, start - 1):
            return True
        start = haystack.find(needle, start + 1)
    return False


def _text_matches(word: str, value: str) -> bool:
    needle, haystack = word.lower(), searched(value).lower()
    if len(word) >= SHORT_WORD:
        return needle in haystack
    return _starts_a_word(needle, haystack, _NOT_ALNUM)


def _phone_matches(word: str, phone: str) -> bool:
    needle = digits_of(word)
    if len(needle) >= SHORT_WORD:
        return needle in searched_digits(phone)
    return _starts_a_word(needle, searched(phone), _NOT_DIGIT)


def word_matches(
    word: str, record: Mapping[str, object], fields: Sequence[str], *, phone_field: str | None
) -> bool:
    """Whether one word of ``q`` matches one of ``fields`` of ``record``."""
    for field in fields:
        value = record.get(field)
        if isinstance(value, str) and _text_matches(word, value):
            return True
    if phone_field is not None and is_phone_word(word):
        phone = record.get(phone_field)
        if isinstance(phone, str) and _phone_matches(word, phone):
            return True
    return False


def matches(
    q: str | None,
    record: Mapping[str, object],
    fields: Sequence[str] = CUSTOMER.q_fields,
    *,
    phone_field: str | None = _PHONE,
) -> bool:
    """Whether ``record`` matches ``q``: every word matches some field (see module docstring)."""
    return all(
        word_matches(word, record, fields, phone_field=phone_field) for word in split_words(q)
    )


# -- the same rule as MongoDB regexes (app.service.mongo_filters) ------------------------------
# Each is anchored at the start and can only match inside the first SEARCHED_CHARS characters,
# so its cost is bounded by that, not by the length of the stored value.
_ANY = "[\\s\\S]"
_META = frozenset("\\^$.|?*+()[]{}")
MAX_REGEX_CHARS = 1_000
"""Longest pattern sent (the embedded server refuses longer ones, as a ReDoS guard)."""


def _literal(word: str) -> str:
    """``word`` as a regex matching itself: only metacharacters escaped, runs counted."""
    out = []
    for char, run in itertools.groupby(word):
        atom = "\\" + char if char in _META else char
        count = len(list(run))
        out.append(f"{atom}{{{count}}}" if count > 3 else atom * count)
    return "".join(out)


def _within(needle: str, length: int, before: str | None) -> str:
    """A regex for ``needle`` (``length`` characters) ending within the searched prefix;
    ``before``: the character class that must precede it unless it starts the value."""
    room = max(SEARCHED_CHARS - length, 0)
    if before is None:
        return f"^{_ANY}{{0,{room}}}{needle}"
    if room == 0:
        return f"^{needle}"
    return f"^(?:{_ANY}{{0,{room - 1}}}{before})?{needle}"


def check_word(word: str) -> str:
    """Return the pattern of one word of ``q`` (see :func:`text_regex`).

    :raise InvalidData: for a word whose pattern would exceed :data:`MAX_REGEX_CHARS` (500 or
        so characters of punctuation): whichever path answers, so the answer never depends on
        which.
    """
    pattern = _text_pattern(word)
    if len(pattern) > MAX_REGEX_CHARS:
        raise InvalidData("Invalid request: Field 'q' has a word too long to search for")
    return pattern


def text_regex(word: str) -> dict[str, Any]:
    """``$regex`` for one word against a text field (case-insensitive; see :func:`check_word`)."""
    return {"$regex": check_word(word), "$options": "i"}


@functools.lru_cache(maxsize=4096)
def _text_pattern(word: str) -> str:
    """The pattern of :func:`text_regex` (cached: every request validates its ``q``, and one
    word is asked for once per searched field)."""
    before = None if len(word) >= SHORT_WORD else "[^A-Za-z0-9]"
    return _within(_literal(word), len(word), before)


def digit_regex(digits: str) -> dict[str, Any]:
    """``$regex`` for 3+ digits against the stored ``phone_digits``."""
    return {"$regex": _within(digits, len(digits), None)}


def phone_regex(digits: str) -> dict[str, Any]:
    """``$regex`` for 1-2 digits at the start of a digit run of the raw phone."""
    return {"$regex": _within(digits, len(digits), "[^0-9]")}
