"""The Elasticsearch index: its settings and mappings, and a search document as its source.

Every write is an ``index`` with ``version_type=external`` and the change event's version, so
a stale write answers 409, which counts as success. A hard delete is indexed as a *tombstone
document* (``state: 2``) under the same external version rather than deleted, because ES forgets
deleted versions after ``index.gc_deletes`` (60 s) and a late stale write would then resurrect
the customer. Reads always exclude tombstones.

The exact ``q`` uses the same Python-side analysis as the embedded engine
(:mod:`indexers.analysis`): Python-lower-cased field values in a trigram field (3-3 ngram
tokenizer: one gram per position; values of the array are 100 positions apart so a phrase never
spans two fields), and keyword arrays of word-start prefixes.
"""

from __future__ import annotations

from typing import Any

from app.textsearch import searched, searched_digits
from indexers.analysis import (
    boundary_prefixes,
    digit_prefixes,
    email_words,
    index_words,
    phone_suffixes,
)
from indexers.backends.plan import LIVE, SOFT_DELETED, TOMBSTONE
from indexers.documents import (
    DATE_FIELDS,
    KEPT_FIELDS,
    LAYOUT,
    SORT_DATE_FIELDS,
    SORT_TEXT_FIELDS,
    TEXT_FIELDS,
    SearchDoc,
    fingerprint,
    from_index,
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
    "DOC_SOURCE",
    "FINGERPRINT",
    "LEGACY_FINGERPRINT",
    "MAPPINGS",
    "SETTINGS",
    "es_document",
    "search_doc",
    "tombstone",
]

PHONE_SUFFIX_DIGITS = 20  # phone_sfx holds the suffixes of the last digits only (E.164: 15)
((_DIGITS_OF, _),) = LAYOUT.digits  # one field is compared digit to digit: the phone
_FIRST, _LAST = WORD_FIELDS[FIRST_NAME_WORDS], WORD_FIELDS[LAST_NAME_WORDS]

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
    },
}


FINGERPRINT = fingerprint(
    {"engine": "elasticsearch", "version": SCHEMA_VERSION, "settings": SETTINGS, **MAPPINGS}
)
"""What an index built now holds (see :func:`indexers.documents.fingerprint`); recorded in the
mapping's ``_meta``."""
MAPPINGS["_meta"] = {"schema": FINGERPRINT}
LEGACY_FINGERPRINT = "3ab94d3a81f69ef3"
"""What the indexes created before indexes recorded a fingerprint hold: the same mapping and
documents as the first fingerprinted ones, whose fingerprint this is. Never change it."""


def es_document(doc: SearchDoc) -> dict[str, Any]:
    """Return the Elasticsearch source of a search document."""
    kept = {name: getattr(doc, name) for name in KEPT_FIELDS}
    out: dict[str, Any] = {
        "id": doc.id,
        "state": SOFT_DELETED if doc.deleted else LIVE,
        "version": doc.version,
        **{name: getattr(doc, name) for name in LAYOUT.flags},
        "groups": list(doc.group_ids),
        "nulls": [name for name, value in kept.items() if value is None],
    }
    out.update((name, value) for name, value in kept.items() if value is not None)
    for name in DATE_FIELDS:
        value = getattr(doc, name)
        if value is not None:
            out[name] = epoch_ms(value)
    for name in SORT_TEXT_FIELDS:
        value = getattr(doc, name)
        out[f"k_{name}_a"] = text_sort_key(value, doc.id)
        out[f"k_{name}_d"] = text_sort_key_desc(value, doc.id)
    for name in SORT_DATE_FIELDS:
        value = getattr(doc, name)
        out[f"k_{name}_a"] = date_sort_key(value, doc.id)
        out[f"k_{name}_d"] = date_sort_key_desc(value, doc.id)
    texts = [searched(v).lower() for v in (getattr(doc, n) for n in TEXT_FIELDS) if v]
    out["g"] = texts
    prefixes: set[str] = set()
    for text in texts:
        prefixes |= boundary_prefixes(text)
    out["s"] = sorted(prefixes)
    _phone_tokens(out, getattr(doc, _DIGITS_OF), getattr(doc, PHONE_FIELD))
    _word_tokens(out, doc)
    return out


def _phone_tokens(out: dict[str, Any], compared: str | None, phone: str | None) -> None:
    """The phone's digits: for ``q`` (``gd``, ``sd``) and the ranked lookup (exact, suffixes)."""
    if compared:
        digits = searched_digits(compared)
        out["gd"] = [digits] if digits else []
        out["sd"] = sorted(digit_prefixes(searched(compared)))
    if phone:
        digits = searched_digits(phone)
        if digits:
            out["ex_phone"] = digits
            out["phone_sfx"] = phone_suffixes(digits[-PHONE_SUFFIX_DIGITS:])


def _word_tokens(out: dict[str, Any], doc: SearchDoc) -> None:
    """The ranked lookup's words: the email's parts (when set), every other role's words."""
    email = getattr(doc, EMAIL_FIELD)
    if email:
        out["ex_email"] = email
    for field, source in WORD_FIELDS.items():
        value = getattr(doc, source)
        if source == EMAIL_FIELD:
            if value:
                out[field] = email_words(searched(value))
        else:
            out[field] = index_words(searched(value) if value else None)
    out["full_name"] = out["full_name_sayt"] = " ".join(
        searched(v) for v in (getattr(doc, _FIRST), getattr(doc, _LAST)) if v
    )


DOC_SOURCE = ("id", *KEPT_FIELDS, *LAYOUT.flags, "groups", *DATE_FIELDS, "version")
"""The ``_source`` fields :func:`search_doc` reads back."""


def search_doc(source: dict[str, Any]) -> SearchDoc:
    """Rebuild a SearchDoc from an ``es_document`` source (digits derived again)."""
    return from_index(source)


def tombstone(id: str, version: int) -> dict[str, Any]:
    return {"id": id, "state": TOMBSTONE, "version": version}
