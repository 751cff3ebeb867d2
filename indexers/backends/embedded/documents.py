"""Customer search documents as tantivy documents, and back.

Which fields a document holds comes from :data:`indexers.documents.LAYOUT`. Exact ``q``: see
:mod:`indexers.analysis` (trigram phrases + word-start prefixes).
"""

from __future__ import annotations

from typing import Any

import tantivy

from app.textsearch import compared, searched, searched_digits
from indexers.analysis import (
    RUN_GAP,
    boundary_prefixes_of,
    digit_prefixes,
    email_words,
    index_words,
    joined_trigrams,
    trigrams,
)
from indexers.backends.embedded.queries import flag
from indexers.backends.embedded.schema import GAP_VALUES, RANGE_KEYS, SCHEMA, SEP, range_key
from indexers.backends.plan import LIVE, SOFT_DELETED, TOMBSTONE
from indexers.documents import (
    DATE_FIELDS,
    DELETED,
    KEPT_FIELDS,
    LAYOUT,
    SORT_TEXT_FIELDS,
    TEXT_FIELDS,
    SearchDoc,
    from_index,
    picker,
    read_dates,
    read_flags,
    read_kept,
)
from indexers.keys import epoch_ms, id_keys, text_keys
from indexers.ranking import EMAIL_FIELD, WORD_FIELDS

__all__ = ["stored_docs", "to_tantivy", "tombstone"]


def _trigram_runs(values: list[str]) -> list[str]:
    """The ``g3`` values: each field's trigrams, :data:`GAP_VALUES` between two fields."""
    runs = [joined_trigrams(values[0], SEP)]
    for value in values[1:]:
        runs += GAP_VALUES
        runs.append(joined_trigrams(value, SEP))
    return runs


def _flags(deleted: bool, has_account: bool) -> str:
    state = SOFT_DELETED if deleted else LIVE
    return f"{flag(state)}{SEP}{flag(state, has_account)}"


# One read of a document's attributes, then tuple lookups (the reindex runs this per customer).
_TEXTS = len(TEXT_FIELDS)  # the searched fields come first among the kept ones
_sort_texts = picker(SORT_TEXT_FIELDS, KEPT_FIELDS)
((_PHONE, _),) = LAYOUT.digits  # one field is compared digit to digit: the phone
_PHONE_AT = KEPT_FIELDS.index(_PHONE)
_DELETED_AT = DATE_FIELDS.index(DELETED)
_FLAG_FIELDS = LAYOUT.flags
_ORDER_KEYS = tuple((f"o_{name}_1", f"o_{name}_2") for name in SORT_TEXT_FIELDS)
_RANGE_TWINS = tuple((name, range_key(name)) for name, _ in RANGE_KEYS)
_WORDS = tuple(
    (field, KEPT_FIELDS.index(source), email_words if source == EMAIL_FIELD else index_words)
    for field, source in WORD_FIELDS.items()
)


def to_tantivy(doc: SearchDoc) -> tantivy.Document:
    """Return the tantivy document of a search document.

    The reindex runs this once per customer, so it is written for speed: one dict that never
    holds None, C-level token joins, a single ``from_dict`` FFI call.
    """
    kept, dates = read_kept(doc), read_dates(doc)
    deleted = dates[_DELETED_AT] is not None
    k1, k2, k3, k4 = id_keys(doc.id)
    fields: dict[str, Any] = {
        "id": doc.id,
        "idk": k1,
        "idk2": k2,
        "idk3": k3,
        "idk4": k4,
        "state": SOFT_DELETED if deleted else LIVE,
        "version": doc.version,
        "flags": _flags(deleted, doc.has_account),
    }
    for name, value in zip(_FLAG_FIELDS, read_flags(doc), strict=True):
        fields[name] = int(value)
    for name, value in zip(DATE_FIELDS, dates, strict=True):
        if value is not None:
            fields[name] = epoch_ms(value)
    nulls = []
    for name, value in zip(KEPT_FIELDS, kept, strict=True):
        if value is None:
            nulls.append(name)
        else:
            fields[name] = value
    if nulls:
        fields["nulls"] = SEP.join(nulls)
    if doc.group_ids:
        fields["groups"] = SEP.join(doc.group_ids)
    if doc.listed is not None:
        fields["listed"] = doc.listed
    for (first, second), value in zip(_ORDER_KEYS, _sort_texts(kept), strict=True):
        fields[first], fields[second] = text_keys(value)
    for key, twin in _RANGE_TWINS:
        if key in fields:
            fields[twin] = fields[key]

    texts = [compared(v) for v in kept[:_TEXTS] if v]
    prefixes = boundary_prefixes_of(texts)
    # NUL inside a value (so maybe inside a prefix): such tokens are added one by one below
    special = SEP in "".join(texts)
    if texts and not special:
        fields["g3"] = _trigram_runs(texts)
    if prefixes:
        kept_prefixes = [p for p in prefixes if SEP not in p] if special else prefixes
        fields["s"] = SEP.join(kept_prefixes)
    phone = kept[_PHONE_AT]
    if phone:
        digits = searched_digits(phone)
        if digits:
            # "^" and "$" mark the ends: an exact phone or a suffix is then a phrase as well
            fields["gd"] = joined_trigrams(f"^{digits}$", SEP)
        sd = digit_prefixes(searched(phone))
        if sd:
            fields["sd"] = SEP.join(sd)
    for field, at, words in _WORDS:
        value = kept[at]
        if value and (joined := SEP.join(words(searched(value)))):
            fields[field] = joined
    out = tantivy.Document.from_dict(fields, SCHEMA)
    if special:
        _add_explicit_tokens(out, texts, prefixes)
    return out


def _add_explicit_tokens(out: tantivy.Document, texts: list[str], prefixes: set[str]) -> None:
    """Index g3 / s token by token (values containing NUL cannot use the NUL tokenizer)."""
    tokens: list[tantivy.Token] = []
    position = 0
    for value in texts:
        grams = trigrams(value)
        tokens.extend(tantivy.Token(g, position + i, 0, 0) for i, g in enumerate(grams))
        position += len(grams) + RUN_GAP
    if tokens:
        out.add_pre_tokenized_text("g3", tantivy.PreTokenizedString("", tokens))
    nul_prefixes = [p for p in prefixes if SEP in p]
    if nul_prefixes:
        out.add_pre_tokenized_text(
            "s",
            tantivy.PreTokenizedString(
                "", [tantivy.Token(p, i, 0, 0) for i, p in enumerate(nul_prefixes)]
            ),
        )


def tombstone(id: str, version: int) -> tantivy.Document:
    return tantivy.Document.from_dict({"id": id, "state": TOMBSTONE, "version": version}, SCHEMA)


def stored_docs(searcher: tantivy.Searcher, addrs: list[Any]) -> dict[str, SearchDoc]:
    """Rebuild the SearchDocs at ``addrs`` from stored fields and fast fields."""
    columns = {
        name: searcher.fast_field_values(name, addrs)
        for name in ("version", *LAYOUT.flags, *DATE_FIELDS)
    }
    out: dict[str, SearchDoc] = {}
    for i, addr in enumerate(addrs):
        values = {name: stored[0] for name, stored in searcher.doc(addr).to_dict().items()}
        values.update((name, column[i]) for name, column in columns.items())
        groups = values.get("groups")
        values["groups"] = groups.split(SEP) if groups else ()
        doc = from_index(values)
        out[doc.id] = doc
    return out
