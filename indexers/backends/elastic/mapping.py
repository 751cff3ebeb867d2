"""The Elasticsearch index: its settings and mappings, and a search document as its source.

Every write is an ``index`` with ``version_type=external`` and the change event's version, so
a stale write answers 409, which counts as success. A hard delete is indexed as a *tombstone
document* (``state: 2``) under the same external version rather than deleted, because ES forgets
deleted versions after ``index.gc_deletes`` (60 s) and a late stale write would then resurrect
the customer. Reads always exclude tombstones.

The exact ``q`` uses the same Python-side analysis as the embedded engine
(:mod:`indexers.analysis`): field values in ``app.textsearch.compared`` form (NFC,
lower-cased) in a trigram field (3-3 ngram tokenizer: one gram per position; values of the
array are 100 positions apart so a phrase never spans two fields), and keyword arrays of
word-start prefixes.
"""

from __future__ import annotations

import base64
from typing import Any

from app.textsearch import compared, searched, searched_digits
from indexers.analysis import (
    boundary_prefixes_of,
    digit_prefixes,
    email_words,
    index_words,
    phone_suffixes,
)
from indexers.backends.plan import LIVE, SOFT_DELETED, TOMBSTONE
from indexers.documents import (
    DATE_FIELDS,
    DELETED,
    KEPT_FIELDS,
    LAYOUT,
    SORT_DATE_FIELDS,
    SORT_TEXT_FIELDS,
    TEXT_FIELDS,
    SearchDoc,
    accepted_fingerprints,
    fingerprint,
    from_index,
    picker,
    read_dates,
    read_flags,
    read_kept,
)
from indexers.keys import (
    date_sort_key,
    date_sort_key_desc,
    epoch_ms,
    text_sort_key,
    text_sort_key_desc,
)
from indexers.ranking import (
    EMAIL_FIELD,
    FIRST_NAME_WORDS,
    LAST_NAME_WORDS,
    PHONE_FIELD,
    WORD_FIELDS,
)

__all__ = [
    "ACCEPTED",
    "DOC_SOURCE",
    "FINGERPRINT",
    "LEGACY_FINGERPRINT",
    "MAPPINGS",
    "SETTINGS",
    "es_document",
    "listed_of",
    "search_doc",
    "tombstone",
]

PHONE_SUFFIX_DIGITS = 20  # phone_sfx holds the suffixes of the last digits only (E.164: 15)
((_DIGITS_OF, _),) = LAYOUT.digits  # one field is compared digit to digit: the phone

SCHEMA_VERSION = 1
"""Raise it when what a document holds changes in a way neither the mapping nor the declaration
shows (a new token rule in :mod:`indexers.analysis`, say): indexes built before are rebuilt."""

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "analysis": {
        "tokenizer": {"trigram": {"type": "ngram", "min_gram": 3, "max_gram": 3}},
        "analyzer": {
            "trigram": {"type": "custom", "tokenizer": "trigram"},
            "edge": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "asciifolding", "edge_1_20"],
            },
        },
        "filter": {"edge_1_20": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20}},
        "normalizer": {"lc": {"type": "custom", "filter": ["lowercase", "trim"]}},
    },
}

_keyword = {"type": "keyword"}
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": _keyword,
        "state": {"type": "byte"},
        "version": {"type": "long"},
        **{name: _keyword for name in KEPT_FIELDS},
        "nulls": _keyword,
        **{name: {"type": "boolean"} for name in LAYOUT.flags},
        "groups": _keyword,
        **{name: {"type": "date", "format": "epoch_millis"} for name in DATE_FIELDS},
        **{
            f"k_{name}_{s}": _keyword
            for name in SORT_TEXT_FIELDS + SORT_DATE_FIELDS
            for s in ("a", "d")
        },
        # exact q (see module docstring)
        "g": {"type": "text", "analyzer": "trigram", "index_options": "positions", "norms": False},
        "s": _keyword,
        "gd": {"type": "text", "analyzer": "trigram", "index_options": "positions", "norms": False},
        "sd": _keyword,
        # ranked lookup: exact (normalized keyword), words (fuzzy/prefix term queries),
        # as-you-type prefix and a full-text name field
        "ex_email": {"type": "keyword", "normalizer": "lc"},
        "ex_phone": _keyword,
        "phone_sfx": _keyword,
        **{name: _keyword for name in WORD_FIELDS},
        "full_name": {
            "type": "text",
            "analyzer": "standard",
            "fields": {
                "prefix": {"type": "text", "analyzer": "edge", "search_analyzer": "standard"}
            },
        },
        "full_name_sayt": {"type": "search_as_you_type", "max_shingle_size": 3},
        # the response document (indexers.listed): kept in _source, not searched
        "listed": {"type": "binary"},
    },
}


_ENGINE = {"engine": "elasticsearch", "version": SCHEMA_VERSION, "settings": SETTINGS, **MAPPINGS}
FINGERPRINT = fingerprint(_ENGINE)
"""What an index built now holds (see :func:`indexers.documents.fingerprint`); recorded in the
mapping's ``_meta``."""
ACCEPTED = accepted_fingerprints(_ENGINE)
"""The fingerprints of the indexes this code uses (FINGERPRINT among them)."""
MAPPINGS["_meta"] = {"schema": FINGERPRINT}
LEGACY_FINGERPRINT = "3ab94d3a81f69ef3"
"""What the indexes created before indexes recorded a fingerprint hold: the same mapping and
documents as the first fingerprinted ones, whose fingerprint this is. Never change it."""


# One read of a document's attributes, then tuple lookups (the reindex runs this per customer).
_TEXTS = len(TEXT_FIELDS)  # the searched fields come first among the kept ones
_sort_texts = picker(SORT_TEXT_FIELDS, KEPT_FIELDS)
_sort_dates = picker(SORT_DATE_FIELDS, DATE_FIELDS)
_TEXT_KEYS = tuple((f"k_{name}_a", f"k_{name}_d") for name in SORT_TEXT_FIELDS)
_DATE_KEYS = tuple((f"k_{name}_a", f"k_{name}_d") for name in SORT_DATE_FIELDS)
_DELETED_AT = DATE_FIELDS.index(DELETED)
_FLAG_FIELDS = LAYOUT.flags
_DIGITS_AT, _PHONE_AT, _EMAIL_AT = (
    KEPT_FIELDS.index(n) for n in (_DIGITS_OF, PHONE_FIELD, EMAIL_FIELD)
)
_FIRST_AT, _LAST_AT = (
    KEPT_FIELDS.index(WORD_FIELDS[f]) for f in (FIRST_NAME_WORDS, LAST_NAME_WORDS)
)
_WORDS = tuple(
    (field, KEPT_FIELDS.index(source), source == EMAIL_FIELD)
    for field, source in WORD_FIELDS.items()
)


def es_document(doc: SearchDoc) -> dict[str, Any]:
    """Return the Elasticsearch source of a search document."""
    kept, dates, doc_id = read_kept(doc), read_dates(doc), doc.id
    out: dict[str, Any] = {
        "id": doc_id,
        "state": LIVE if dates[_DELETED_AT] is None else SOFT_DELETED,
        "version": doc.version,
        "groups": list(doc.group_ids),
        "nulls": [name for name, value in zip(KEPT_FIELDS, kept, strict=True) if value is None],
    }
    for name, flag in zip(_FLAG_FIELDS, read_flags(doc), strict=True):
        out[name] = flag
    for name, value in zip(KEPT_FIELDS, kept, strict=True):
        if value is not None:
            out[name] = value
    for name, value in zip(DATE_FIELDS, dates, strict=True):
        if value is not None:
            out[name] = epoch_ms(value)
    for (up, down), value in zip(_TEXT_KEYS, _sort_texts(kept), strict=True):
        out[up], out[down] = text_sort_key(value, doc_id), text_sort_key_desc(value, doc_id)
    for (up, down), value in zip(_DATE_KEYS, _sort_dates(dates), strict=True):
        out[up], out[down] = date_sort_key(value, doc_id), date_sort_key_desc(value, doc_id)
    texts = [compared(v) for v in kept[:_TEXTS] if v]
    out["g"] = texts
    out["s"] = sorted(boundary_prefixes_of(texts))
    _phone_tokens(out, kept[_DIGITS_AT], kept[_PHONE_AT])
    _word_tokens(out, kept)
    if doc.listed is not None:
        out["listed"] = listed_source(doc.listed)
    return out


def _phone_tokens(out: dict[str, Any], stored: str | None, phone: str | None) -> None:
    """The phone's digits: for ``q`` (``gd``, ``sd``) and the ranked lookup (exact, suffixes)."""
    digits = searched_digits(stored) if stored else ""
    if stored:
        out["gd"] = [digits] if digits else []
        out["sd"] = sorted(digit_prefixes(searched(stored)))
    if phone:
        if phone is not stored:  # one field today: its digits are computed once
            digits = searched_digits(phone)
        if digits:
            out["ex_phone"] = digits
            out["phone_sfx"] = phone_suffixes(digits[-PHONE_SUFFIX_DIGITS:])


def _word_tokens(out: dict[str, Any], kept: tuple[Any, ...]) -> None:
    """The ranked lookup's words: the email's parts (when set), every other role's words."""
    email = kept[_EMAIL_AT]
    if email:
        out["ex_email"] = email
    for field, at, is_email in _WORDS:
        value = kept[at]
        if is_email:
            if value:
                out[field] = email_words(searched(value))
        else:
            out[field] = index_words(searched(value) if value else None)
    first, last = kept[_FIRST_AT], kept[_LAST_AT]
    out["full_name"] = out["full_name_sayt"] = " ".join(searched(v) for v in (first, last) if v)


DOC_SOURCE = ("id", *KEPT_FIELDS, *LAYOUT.flags, "groups", *DATE_FIELDS, "version", "listed")
"""The ``_source`` fields :func:`search_doc` reads back."""


def listed_source(document: bytes) -> str:
    """A response document as the ``binary`` field holds it (base64: the bytes come back
    exactly, as JSON re-encoded by another library would not)."""
    return base64.b64encode(document).decode("ascii")


def listed_of(source: dict[str, Any]) -> bytes | None:
    """The response document of an ``es_document`` source (None: it has none)."""
    stored = source.get("listed")
    return None if stored is None else base64.b64decode(stored)


def search_doc(source: dict[str, Any]) -> SearchDoc:
    """Rebuild a SearchDoc from an ``es_document`` source (digits derived again)."""
    return from_index({**source, "listed": listed_of(source)})


def tombstone(id: str, version: int) -> dict[str, Any]:
    return {"id": id, "state": TOMBSTONE, "version": version}
