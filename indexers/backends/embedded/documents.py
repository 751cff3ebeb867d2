"""Customer search documents as tantivy documents, and back.

Exact ``q``: see :mod:`indexers.analysis` (trigram phrases + word-start prefixes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import tantivy

from app.textsearch import digits_of, searched, searched_digits
from indexers.analysis import (
    RUN_GAP,
    boundary_prefixes_of,
    digit_prefixes,
    email_words,
    epoch_ms,
    id_keys,
    index_words,
    joined_trigrams,
    text_keys,
    trigrams,
)
from indexers.backends.embedded.schema import GAP, SCHEMA, SEP
from indexers.backends.plan import LIVE, SOFT_DELETED, TOMBSTONE
from indexers.documents import EXACT_FIELDS, SORT_TEXT_FIELDS, SearchDoc

__all__ = ["stored_docs", "to_tantivy", "tombstone"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _trigram_runs(values: list[str]) -> str:
    return GAP.join([joined_trigrams(v, SEP) for v in values])


def _flags(deleted: bool, has_account: bool) -> str:
    state = SOFT_DELETED if deleted else LIVE
    return f"s{state}{SEP}s{state}a{int(has_account)}"


def to_tantivy(doc: SearchDoc) -> tantivy.Document:
    """Return the tantivy document of a search document.

    The reindex runs this once per customer, so it is written for speed: one dict, C-level
    token joins, a single ``from_dict`` FFI call.
    """
    deleted = doc.deleted_at is not None
    k1, k2, k3, k4 = id_keys(doc.id)
    fields: dict[str, Any] = {
        "id": doc.id,
        "idk": k1,
        "idk2": k2,
        "idk3": k3,
        "idk4": k4,
        "state": SOFT_DELETED if deleted else LIVE,
        "version": doc.version,
        "has_account": int(doc.has_account),
        "flags": _flags(deleted, doc.has_account),
        "created_at": epoch_ms(doc.created_at),
        "updated_at": epoch_ms(doc.updated_at),
    }
    if deleted:
        fields["deleted_at"] = epoch_ms(doc.deleted_at)  # type: ignore[arg-type]
    email, first, last, company, phone = (
        doc.email,
        doc.first_name,
        doc.last_name,
        doc.company_name,
        doc.phone,
    )
    nulls = []
    for name, value in zip(
        EXACT_FIELDS, (email, first, last, company, phone, doc.created_by), strict=True
    ):
        if value is None:
            nulls.append(name)
        else:
            fields[name] = value
    if nulls:
        fields["nulls"] = SEP.join(nulls)
    if doc.group_ids:
        fields["groups"] = SEP.join(doc.group_ids)
    for name, value in zip(SORT_TEXT_FIELDS, (email, first, last, company), strict=True):
        fields[f"o_{name}_1"], fields[f"o_{name}_2"] = text_keys(value)

    texts = [searched(v).lower() for v in (email, first, last, company, phone) if v]
    prefixes = boundary_prefixes_of(texts)
    # NUL inside a value (so maybe inside a prefix): such tokens are added one by one below
    special = SEP in "".join(texts)
    if texts and not special:
        fields["g3"] = _trigram_runs(texts)
    if prefixes:
        kept = [p for p in prefixes if SEP not in p] if special else prefixes
        fields["s"] = SEP.join(kept)
    if phone:
        digits = searched_digits(phone)
        if digits:
            # "^" and "$" mark the ends: an exact phone or a suffix is then a phrase as well
            fields["gd"] = joined_trigrams(f"^{digits}$", SEP)
        sd = digit_prefixes(searched(phone))
        if sd:
            fields["sd"] = SEP.join(sd)
    if first:
        fields["w_first"] = SEP.join(index_words(searched(first))) or None
    if last:
        fields["w_last"] = SEP.join(index_words(searched(last))) or None
    if company:
        fields["w_company"] = SEP.join(index_words(searched(company))) or None
    if email:
        fields["w_email"] = SEP.join(email_words(searched(email))) or None
    out = tantivy.Document.from_dict({k: v for k, v in fields.items() if v is not None}, SCHEMA)
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


def _first(stored: dict[str, list[Any]], name: str) -> Any:
    values = stored.get(name)
    return values[0] if values else None


def _datetime(ms: int | None) -> datetime | None:
    return None if ms is None else _EPOCH + timedelta(milliseconds=ms)


def stored_docs(searcher: tantivy.Searcher, addrs: list[Any]) -> dict[str, SearchDoc]:
    """Rebuild the SearchDocs at ``addrs`` from stored fields and fast fields."""
    columns = {
        name: searcher.fast_field_values(name, addrs)
        for name in ("version", "has_account", "created_at", "updated_at", "deleted_at")
    }
    out: dict[str, SearchDoc] = {}
    for i, addr in enumerate(addrs):
        stored = searcher.doc(addr).to_dict()
        groups = _first(stored, "groups")
        phone = _first(stored, "phone")
        doc = SearchDoc(
            id=_first(stored, "id"),
            email=_first(stored, "email"),
            first_name=_first(stored, "first_name"),
            last_name=_first(stored, "last_name"),
            company_name=_first(stored, "company_name"),
            phone=phone,
            phone_digits=digits_of(phone) or None,  # not stored: derived, as the index does
            has_account=bool(columns["has_account"][i]),
            group_ids=tuple(groups.split(SEP)) if groups else (),
            created_by=_first(stored, "created_by"),
            created_at=_datetime(columns["created_at"][i]),  # type: ignore[arg-type]
            updated_at=_datetime(columns["updated_at"][i]),  # type: ignore[arg-type]
            deleted_at=_datetime(columns["deleted_at"][i]),
            version=int(columns["version"][i]),
        )
        out[doc.id] = doc
    return out
