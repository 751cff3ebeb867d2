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

from datetime import UTC, datetime, timedelta
from typing import Any

from app.textsearch import digits_of, searched, searched_digits
from indexers.analysis import (
    TEXT_FIELDS,
    boundary_prefixes,
    date_sort_key,
    date_sort_key_desc,
    digit_prefixes,
    email_words,
    epoch_ms,
    index_words,
    phone_suffixes,
    text_sort_key,
    text_sort_key_desc,
)
from indexers.backends.plan import LIVE, SOFT_DELETED, TOMBSTONE
from indexers.documents import (
    DATE_FIELDS,
    EXACT_FIELDS,
    SORT_DATE_FIELDS,
    SORT_TEXT_FIELDS,
    SearchDoc,
)

__all__ = [
    "DOC_SOURCE",
    "MAPPINGS",
    "SETTINGS",
    "es_document",
    "search_doc",
    "tombstone",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

WORD_FIELDS = {"first_name": "w_first", "last_name": "w_last", "company_name": "w_company"}
PHONE_SUFFIX_DIGITS = 20  # phone_sfx holds the suffixes of the last digits only (E.164: 15)

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
        **{name: _keyword for name in EXACT_FIELDS},
        "nulls": _keyword,
        "has_account": {"type": "boolean"},
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
        **{name: _keyword for name in (*WORD_FIELDS.values(), "w_email")},
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


def es_document(doc: SearchDoc) -> dict[str, Any]:
    """Return the Elasticsearch source of a search document."""
    out: dict[str, Any] = {
        "id": doc.id,
        "state": SOFT_DELETED if doc.deleted_at is not None else LIVE,
        "version": doc.version,
        "has_account": doc.has_account,
        "groups": list(doc.group_ids),
        "nulls": [name for name in EXACT_FIELDS if getattr(doc, name) is None],
    }
    for name in EXACT_FIELDS:
        value = getattr(doc, name)
        if value is not None:
            out[name] = value
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
    if doc.phone:
        digits = searched_digits(doc.phone)
        out["gd"] = [digits] if digits else []
        out["sd"] = sorted(digit_prefixes(searched(doc.phone)))
        if digits:
            out["ex_phone"] = digits
            out["phone_sfx"] = phone_suffixes(digits[-PHONE_SUFFIX_DIGITS:])
    if doc.email:
        out["ex_email"] = doc.email
        out["w_email"] = email_words(searched(doc.email))
    for name, field in WORD_FIELDS.items():
        value = getattr(doc, name)
        out[field] = index_words(searched(value) if value else None)
    out["full_name"] = out["full_name_sayt"] = " ".join(
        searched(v) for v in (doc.first_name, doc.last_name) if v
    )
    return out


DOC_SOURCE = ("id", *EXACT_FIELDS, "has_account", "groups", *DATE_FIELDS, "version")
"""The ``_source`` fields :func:`search_doc` reads back."""


def _date(ms: int | None) -> datetime | None:
    return None if ms is None else _EPOCH + timedelta(milliseconds=int(ms))


def search_doc(source: dict[str, Any]) -> SearchDoc:
    """Rebuild a SearchDoc from an ``es_document`` source (``phone_digits`` re-derived)."""
    phone = source.get("phone")
    return SearchDoc(
        id=source["id"],
        email=source.get("email"),
        first_name=source.get("first_name"),
        last_name=source.get("last_name"),
        company_name=source.get("company_name"),
        phone=phone,
        phone_digits=digits_of(phone) or None,
        has_account=bool(source.get("has_account")),
        group_ids=tuple(source.get("groups") or ()),
        created_by=source.get("created_by"),
        created_at=_date(source.get("created_at")),  # type: ignore[arg-type]
        updated_at=_date(source.get("updated_at")),  # type: ignore[arg-type]
        deleted_at=_date(source.get("deleted_at")),
        version=int(source["version"]),
    )


def tombstone(id: str, version: int) -> dict[str, Any]:
    return {"id": id, "state": TOMBSTONE, "version": version}
