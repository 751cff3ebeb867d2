"""Keys the engines filter and sort by: dates in milliseconds, and order keys. Pure.

String order keys turn Medusa's ``order`` plus the ``id`` tie-breaker into one string per
document whose code-point order is the wanted order, so an engine can sort and page on one
keyword column (Elasticsearch). Numeric order keys never contradict the exact order, for an
engine that sorts numbers far faster than strings (tantivy; see its pager).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.entities import CUSTOMER

__all__ = [
    "ID_PREFIX",
    "TEXT_KEY_CHARS",
    "date_sort_key",
    "date_sort_key_desc",
    "epoch_ms",
    "from_epoch_ms",
    "id_keys",
    "id_of_sort_key",
    "text_keys",
    "text_sort_key",
    "text_sort_key_desc",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(value: datetime) -> int:
    """Return milliseconds since the epoch, truncated exactly as BSON stores a datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_epoch_ms(ms: int | None) -> datetime | None:
    """Return the UTC datetime of ``ms`` milliseconds since the epoch (None stays None)."""
    return None if ms is None else _EPOCH + timedelta(milliseconds=int(ms))


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
ID_PREFIX = f"{CUSTOMER.id_prefix}_"
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


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""The ULID alphabet (ascending): every customer id is ``cus_`` + 26 of these."""
_BASE32 = "0123456789abcdefghijklmnopqrstuv"  # int(…, 32)'s digits
_STOP = "!"  # (not a base-32 digit) marks where a dense key stops


class _Dense(dict[int, str]):
    """``str.translate`` table: the first 31 ULID letters → base-32 digits 0..30 in order; any
    other character → :data:`_STOP` + the digit of its rank among the letters (how many sort
    before it, 31 at most), after which the key encodes nothing."""

    def __missing__(self, code: int) -> str:
        rank = min(sum(letter < chr(code) for letter in _CROCKFORD), 31)
        out = _STOP + _BASE32[rank]
        self[code] = out
        return out


_DENSE = _Dense({ord(letter): _BASE32[i] for i, letter in enumerate(_CROCKFORD[:31])})
_DENSE_DIGITS = 12  # 60 bits a key: a ULID's 10 time characters + 2 in the first key


def _dense(value: str, size: int) -> str:
    """``size`` base-32 digits that never contradict the order of ``value`` (5 bits a
    character; shorter values pad with 0, the digit of the first letter)."""
    digits = value[:size].translate(_DENSE)
    stop = digits.find(_STOP)
    if stop != -1:
        digits = digits[:stop] + digits[stop + 1]
    return digits.ljust(size, "0")


def id_keys(id: str) -> tuple[int, int, int, int]:
    """Return four u64 that never contradict id order.

    ``cus_`` ids take 5 bits a character, so the first key holds a ULID's whole millisecond
    (ids made in one millisecond share it; the pager orders such a group in one search) and
    the four keys hold 48 characters. Other ids take 8 bits a character (31 in all). A key
    that stops early (a character outside the ULID letters, or ``Z``) only makes ties, which
    the pager breaks from the stored id.
    """
    if id.startswith(ID_PREFIX):
        d = _dense(id[len(ID_PREFIX) :], 4 * _DENSE_DIGITS)
        return (
            (1 << 62) | int(d[:12], 32),
            int(d[12:24], 32),
            int(d[24:36], 32),
            int(d[36:48], 32),
        )
    cls = 0 if id < ID_PREFIX else 2
    codes, _ = _codes(id, 31)
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
