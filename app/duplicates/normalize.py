"""Normalisers: the values duplicate detection compares, as plain functions. Pure.

Two records of one person rarely agree letter for letter: "John.Doe@Gmail.com" and
"john.doe@gmail.com", "+49 30 1234567" and "030 1234567", "Zoë Müller" and "zoe muller". Each
function here maps such variants to one comparable value (or ``None`` when nothing is left to
compare), so blocking keys and scores never see formatting. The merge lane reuses them.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers

from app.entities.values import digits_of

__all__ = [
    "DOT_BLIND_DOMAINS",
    "fold_text",
    "normalize_email",
    "normalize_phone",
    "normalize_postcode",
    "normalize_street",
    "phone_key",
    "split_email",
]

DOT_BLIND_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
"""Providers that ignore dots in the local part (folded only with ``folding``)."""

_NOT_WORD = re.compile(r"[\W_]+")  # any script's letters and digits are kept
_UNDECOMPOSED = str.maketrans({"ß": "ss", "ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe"})
"""Letters NFKD leaves whole that people commonly write without their mark."""
_MAX_FOLDED = 200  # characters of a value that are compared (values are bounded anyway)
_MIN_PHONE_DIGITS = 6  # fewer digits than this is not a phone number worth comparing
_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*\d{1,6}\s*$", re.IGNORECASE)
"""An extension at the end of a phone ("555-0100 ext. 12", "x12"): not part of the number."""
_PHONE_KEY_DIGITS = 9  # trailing digits of a national number that identify it


@functools.lru_cache(maxsize=65536)
def fold_text(value: str | None) -> str | None:
    """Accents removed (NFKD), case folded, punctuation turned into single spaces.

    "  Zoë-Anne O'Brien " → "zoe anne o brien", "Łukasz" → "lukasz", "Иван" → "иван";
    ``None`` when nothing comparable is left.
    Cached: names repeat a lot across a customer base.
    """
    if not value:
        return None
    decomposed = unicodedata.normalize("NFKD", value[:_MAX_FOLDED])
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = _NOT_WORD.sub(" ", bare.casefold().translate(_UNDECOMPOSED)).strip()
    return folded or None


def split_email(email: str | None) -> tuple[str, str] | None:
    """``(local part, domain)`` of a trimmed, lower-cased email; ``None`` when not an email."""
    if not email:
        return None
    local, at, domain = email.strip().lower().rpartition("@")
    if not at or not local or not domain:
        return None
    return local, domain


def normalize_email(email: str | None, *, folding: bool = False) -> str | None:
    """Trimmed and lower-cased; with ``folding``, a ``+tag`` dropped from the local part and,
    at providers that ignore them (:data:`DOT_BLIND_DOMAINS`), its dots too.

    Folding is an option because most providers do deliver ``a.b@`` and ``ab@`` to different
    people: it finds more duplicates at gmail and risks false ones elsewhere.
    """
    parts = split_email(email)
    if parts is None:
        return None
    local, domain = parts
    if folding:
        local = local.split("+", 1)[0] or local
        if domain in DOT_BLIND_DOMAINS:
            local = local.replace(".", "") or local
    return f"{local}@{domain}"


def _parsed(phone: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """The number ``phonenumbers`` reads: possible when written with a country code, valid
    when read in ``region`` (else a foreign national number would get the region's code)."""
    text = phone.strip()
    international = text.startswith(("+", "00"))
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if international else region)
    except phonenumbers.NumberParseException:
        return None
    if international:
        return number if phonenumbers.is_possible_number(number) else None
    return number if phonenumbers.is_valid_number(number) else None


@functools.lru_cache(maxsize=65536)
def normalize_phone(phone: str | None, region: str | None = None) -> str | None:
    """E.164 (``+4930123456``) when ``phonenumbers`` can read it, else its bare digits.

    A number written with its country code (``+49 …``, ``0049 …``) is read as such; a national
    one (``030 …``) is read in ``region`` (ISO 3166 alpha-2, e.g. ``US``). Without a region, or
    when the number does not parse, the digits are kept as they are. Fewer than 6 digits:
    ``None`` (extensions, junk).
    """
    if phone is None or len(digits_of(phone)) < _MIN_PHONE_DIGITS:
        return None
    number = _parsed(phone, region)
    if number is None:
        return digits_of(phone)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_key(phone: str | None, region: str | None = None) -> str | None:
    """What two ways of writing one phone share: the last 9 digits of its national number.

    The national (significant) number is the phone without its country code when written
    with one (``+49 …``, ``0049 …``: the code is read from ``phonenumbers``' table of
    country codes), else without the national prefix of ``region`` (``0`` in ``DE``, ``1`` in
    ``US``, ``06`` in ``HU``). Its last 9 digits, leading zeros dropped, are the key: so
    "+49 30 1234567", "0049 30 1234567" and "030 1234567" agree in any region, and so do
    "+1 212 555 0100", "1-212-555-0100" and "(212) 555-0100". A national number from outside
    the default region still meets its international form (its trunk ``0`` falls away), and
    two numbers agreeing in 9 digits but not in their country codes are rare enough to leave
    to the names, which a phone match needs anyway. No parsing (a scan computes a key for
    every phone of the base): the same table and prefixes ``phonenumbers`` parses with.
    """
    if phone is None:
        return None
    text = _EXTENSION.sub("", phone).lstrip()
    digits = digits_of(text)
    if len(digits) < _MIN_PHONE_DIGITS:
        return None
    if text.startswith("+"):
        national = _without_country_code(digits)
    elif text.startswith("00"):
        national = _without_country_code(digits[2:])
    else:
        prefix = _national_prefix(region)
        national = digits[len(prefix) :] if prefix and digits.startswith(prefix) else digits
    return national[-_PHONE_KEY_DIGITS:].lstrip("0") or None


def _without_country_code(digits: str) -> str:
    for length in (1, 2, 3):  # country codes are prefix-free: at most one of these is one
        if int(digits[:length] or "0") in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return digits[length:]
    return digits


@functools.lru_cache(maxsize=512)
def _national_prefix(region: str | None) -> str | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region) if region else None
    return metadata.national_prefix if metadata is not None else None


def normalize_postcode(postcode: str | None) -> str | None:
    """Letters and digits only, upper-cased: "sw1a 1aa" and "SW1A1AA" agree."""
    folded = fold_text(postcode)
    return folded.replace(" ", "").upper() if folded else None


_STREET_WORDS = frozenset(
    {
        *("street", "st", "str", "strasse", "road", "rd", "avenue", "ave", "av", "boulevard"),
        *("blvd", "drive", "dr", "lane", "ln", "place", "pl", "court", "ct", "way", "rue"),
        *("via", "calle", "weg"),
    }
)
_STREET_SUFFIXES = ("strasse", "str")  # German compounds: "Hauptstraße", "Hauptstr."


def _street_word(word: str) -> str:
    for suffix in _STREET_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)]
    return word


def normalize_street(street: str | None) -> str | None:
    """Folded, without the words for "street": "12 Baker Street" and "12 baker st." agree,
    and so do "Hauptstraße 5" and "Hauptstr. 5"."""
    folded = fold_text(street)
    if not folded:
        return None
    words = [_street_word(word) for word in folded.split() if word not in _STREET_WORDS]
    return " ".join(words) or folded
