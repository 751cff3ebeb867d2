"""The meaning of ``q``: one pure definition shared by MongoDB, the search index and tests.

``q`` is literal text (no wildcards), compared case-insensitively. It is split at whitespace and
**every** word must match at least one searched field of the entity (the fields declared with
a place in ``q``, see :attr:`app.entities.Entity.q_fields`):

* a word of 3+ characters matches anywhere inside the field ("est2@" finds "test2@email.com");
* a shorter word matches only at the start of a word of the field ("do" finds "Doe" and
  "john.doe@x.com", not "Eldon"). A word of a field is a maximal run of Unicode letters and
  digits (``str.isalnum()``): "le" does not find "Adèle" (the "è" is a letter);
* on customers, a word made only of digits and phone punctuation (``+-().``/) with at least one
  digit is also compared digits-to-digits with the phone, with the same 3+/shorter rule applied
  to the digits ("5551234" finds "555-1234", "(555)" finds "+1 555 123 4567").

Text is compared in its :func:`compared` form: Unicode NFC (a decomposed "Adèle" equals a
composed one), lower-cased by Python's ``str.lower`` (not case-folded: a final sigma stays one). A
word's length (3+ or shorter) is counted in NFC. Scripts written without spaces (Chinese,
Japanese) have no word boundaries inside a run of letters: a short word then only matches at
the start of the run.

So "John Doe" finds first_name John + last_name Doe, and "%" or "_" only match themselves.
``matches`` is the executable definition. MongoDB's regular expressions cannot say "a Unicode
letter" portably (PCRE's word class is ASCII unless a server enables UCP; SecantusDB runs
Python's ``re``), so every stored document ``q`` searches carries its :func:`stored_terms`
(the compared texts and their word starts; written by ``app.service.documents``), which
``app.service.mongo_filters`` queries with the patterns built here; the search index indexes
the same :func:`word_starts` and serves the same results.

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
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from app.entities import CUSTOMER
from app.entities.values import digits_of
from app.errors import InvalidData
from app.limits import MAX_Q_CHARS, MAX_Q_WORDS, MAX_TEXT_CHARS

__all__ = [
    "MAX_REGEX_CHARS",
    "SEARCHED_CHARS",
    "SHORT_WORD",
    "TERMS_STARTS",
    "TERMS_TEXT",
    "WORD_START_CHARS",
    "Highlights",
    "Range",
    "check_q",
    "check_word",
    "compared",
    "digit_regex",
    "digits_of",
    "is_phone_word",
    "is_short",
    "matches",
    "phone_regex",
    "searched",
    "searched_digits",
    "split_words",
    "starts_regex",
    "stored_terms",
    "terms_regex",
    "word_matches",
    "word_starts",
    "word_starts_of",
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

WORD_START_CHARS = 4
"""Longest word start kept (:func:`word_starts`): a word shorter than :data:`SHORT_WORD` can
lower-case to 4 characters ("İİ" → "i̇i̇")."""

_PHONE_PUNCTUATION = frozenset("+-().")
_DIGITS = frozenset("0123456789")
(_PHONE, _) = CUSTOMER.q_digits[0]


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


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def compared(value: str) -> str:
    """The form in which ``q`` compares a field value (its searched part) or a word of ``q``:
    NFC, lower-cased, NFC again (lower-casing may leave a composable sequence)."""
    if value.isascii():
        return value[:SEARCHED_CHARS].lower()
    return _nfc(searched(_nfc(value)).lower())


def is_short(word: str) -> bool:
    """Whether a word of ``q`` is short (only matches at a word start), counted in NFC."""
    return len(_nfc(word)) < SHORT_WORD


def searched_digits(phone: str | None) -> str:
    """The phone digits the digit rule looks at (the first :data:`SEARCHED_CHARS`)."""
    return digits_of(phone)[:SEARCHED_CHARS]


def is_phone_word(word: str) -> bool:
    """Whether ``word`` is digits and phone punctuation, with at least one digit."""
    return any(c in _DIGITS for c in word) and all(
        c in _DIGITS or c in _PHONE_PUNCTUATION for c in word
    )


def _starts_a_word(needle: str, haystack: str, in_word: Callable[[str], bool]) -> bool:
    """Whether ``needle`` occurs in ``haystack`` at its start or after a character that is
    not ``in_word``."""
    start = haystack.find(needle)
    while start != -1:
        if start == 0 or not in_word(haystack[start - 1]):
            return True
        start = haystack.find(needle, start + 1)
    return False


def _text_matches(word: str, value: str) -> bool:
    needle, haystack = compared(word), compared(value)
    if not is_short(word):
        return needle in haystack
    return _starts_a_word(needle, haystack, str.isalnum)


def _phone_matches(word: str, phone: str) -> bool:
    needle = digits_of(word)
    if len(needle) >= SHORT_WORD:
        return needle in searched_digits(phone)
    return _starts_a_word(needle, searched(phone), _DIGITS.__contains__)


# -- word starts: what a short word is compared with ------------------------------------------
# ASCII letters and digits are exactly the ASCII characters str.isalnum() accepts; beyond
# ASCII, Python's [^\W_] is exactly str.isalnum() (checked over every code point by a test).
_ASCII_STARTS = re.compile(r"(?<![A-Za-z0-9])(?=(.{1,2}))", re.DOTALL)
_JOINED_STARTS = re.compile(r"(?<![A-Za-z0-9])(?=([^\x00]{1,2}))")
_UNICODE_STARTS = re.compile(rf"(?<![^\W_])(?=(.{{1,{WORD_START_CHARS}}}))", re.DOTALL)


def _longest_starts(text: str) -> list[str]:
    """The longest prefix kept at each start of a word of ``text``: 2 characters in ASCII
    text (no short word of ``q`` lower-cases to more ASCII characters), else
    :data:`WORD_START_CHARS`; fewer at the end of the text. A word starts at 0 and after any
    character that is not a letter or digit (``str.isalnum()``)."""
    return (_ASCII_STARTS if text.isascii() else _UNICODE_STARTS).findall(text)


def word_starts(text: str) -> set[str]:
    """Return the short prefixes at each start of a word of ``text`` (in :func:`compared`
    form): a short word of ``q`` matches iff its compared form is one of them (the index's
    tokens; see :func:`_longest_starts`)."""
    return {start[:end] for start in _longest_starts(text) for end in range(1, len(start) + 1)}


def word_starts_of(texts: list[str]) -> set[str]:
    """Return the union of :func:`word_starts` of several values.

    ASCII values without NUL are scanned as one NUL-joined string (one regex call per
    customer in the reindex): NUL is not alphanumeric, so a word starts after it exactly as
    at the start of a value, and no prefix crosses it.
    """
    joined = "\x00".join(texts)
    if joined.isascii() and joined.count("\x00") == len(texts) - 1:
        found = _JOINED_STARTS.findall(joined)
        out = set(found)
        out.update(prefix[0] for prefix in found)
        return out
    out = set()
    for value in texts:
        out |= word_starts(value)
    return out


TERMS_TEXT, TERMS_STARTS = "text", "starts"
"""The keys of :func:`stored_terms`."""


def stored_terms(values: Iterable[object]) -> dict[str, list[str]]:
    """What a stored document carries so that MongoDB can answer ``q`` exactly: the
    :func:`compared` form of each searched value (``text``, one element per non-empty value,
    so no match spans two fields) and the longest prefix at each start of a word of them
    (``starts``, sorted, without those another one begins with): a short word matches iff
    one of them begins with it, which :func:`starts_regex` asks. Half the size of every
    prefix (:func:`word_starts`), a third in non-ASCII text."""
    texts = [compared(value) for value in values if isinstance(value, str) and value]
    starts = sorted({start for text in texts for start in _longest_starts(text)})
    # sorted: whatever begins with a start comes right after it
    kept = [s for s, after in itertools.zip_longest(starts, starts[1:], fillvalue="")
            if not after.startswith(s)]  # fmt: skip
    return {TERMS_TEXT: texts, TERMS_STARTS: kept}


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
    """Return the :func:`compared` form of one word of ``q``.

    :raise InvalidData: for a word whose pattern (:func:`terms_regex`) would exceed
        :data:`MAX_REGEX_CHARS` (500 or so characters of punctuation): whichever path
        answers, so the answer never depends on which.
    """
    needle = compared(word)
    if not is_short(word) and len(_terms_pattern(needle)) > MAX_REGEX_CHARS:
        raise InvalidData("Invalid request: Field 'q' has a word too long to search for")
    return needle


def starts_regex(needle: str) -> dict[str, Any]:
    """``$regex`` for a short word (``needle``: its :func:`compared` form) against the word
    starts of :func:`stored_terms`: anchored, so an index on them could serve it."""
    return {"$regex": f"^{_literal(needle)}"}


def terms_regex(needle: str) -> dict[str, Any]:
    """``$regex`` for a word of 3+ characters (``needle``: its :func:`compared` form) against
    the texts of :func:`stored_terms`. Unanchored and without ``i``: those texts are already
    the compared, bounded form, so the work is bounded by it and no server's idea of case
    folding comes into play."""
    return {"$regex": _terms_pattern(needle)}


@functools.lru_cache(maxsize=4096)
def _terms_pattern(needle: str) -> str:
    """The pattern of :func:`terms_regex` (cached: every request validates its ``q``)."""
    return _literal(needle)


def digit_regex(digits: str) -> dict[str, Any]:
    """``$regex`` for 3+ digits against the stored ``phone_digits``."""
    return {"$regex": _within(digits, len(digits), None)}


def phone_regex(digits: str) -> dict[str, Any]:
    """``$regex`` for 1-2 digits at the start of a digit run of the raw phone."""
    return {"$regex": _within(digits, len(digits), "[^0-9]")}
