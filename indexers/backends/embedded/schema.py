"""The tantivy schema of a customer document, and opening an index directory with it.

The schema is read from :data:`indexers.documents.LAYOUT` (the customer declaration): every text
field kept whole is a raw stored field (exact filters), every date an i64 fast field (ranges,
ordering), every sortable text field two u64 order keys, every ranked role's field a word
field. The first key of each order is indexed a second time, for ranges (:data:`RANGE_KEYS`).
Every document carries its version; a hard delete leaves a tombstone document (state 2) that is
never returned by reads but keeps the version, so a stale write can never resurrect a customer.

Token lists are joined with NUL and split by a registered regex tokenizer (one FFI call per
field). The trigram runs of the fields (``g3``) are values of one multi-valued field,
:data:`~indexers.analysis.RUN_GAP` positions apart: tantivy leaves one empty position before
each further value, so :data:`GAP_VALUES` (empty values between two runs) make up the rest,
with no token to index (gap tokens were a tenth of a document's tokens, all on one term).

A generation records the :data:`FINGERPRINT` it was built with (the file ``SCHEMA``); opening
one with another raises :class:`~indexers.backends.base.IncompatibleIndex`, which makes the
sync indexer rebuild it (a full zero-downtime reindex), as does a tantivy schema that differs.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import tantivy

from indexers.analysis import RUN_GAP
from indexers.backends.base import IncompatibleIndex
from indexers.documents import (
    DATE_FIELDS,
    KEPT_FIELDS,
    LAYOUT,
    SORT_DATE_FIELDS,
    SORT_TEXT_FIELDS,
    accepted_fingerprints,
    documents_fingerprint,
    fingerprint,
)
from indexers.ranking import WORD_FIELDS

__all__ = [
    "ACCEPTED",
    "DOCUMENTS",
    "DOCUMENTS_FILE",
    "FIELDS",
    "FINGERPRINT",
    "GAP_VALUES",
    "ID_KEYS",
    "NUL",
    "RANGE_KEYS",
    "SCHEMA",
    "SEP",
    "VALUE_GAP",
    "open_index",
    "range_key",
    "recorded_documents",
]

NUL = "nul"  # tokenizer: tokens separated by NUL, positions counted per token
SEP = "\x00"
ID_KEYS = ("idk", "idk2", "idk3", "idk4")
VALUE_GAP = 1
"""Empty positions tantivy leaves before each further value of a field (an empty value too)."""
GAP_VALUES = ("",) * (RUN_GAP - VALUE_GAP)
"""Empty values between two fields' trigram runs: with tantivy's own gap, RUN_GAP positions."""

SCHEMA_VERSION = 3
"""Raise it when what a document holds changes in a way neither :data:`FIELDS` nor the
declaration shows (a new token rule in :mod:`indexers.analysis`, say): indexes built before are
then rebuilt. 2: no gap tokens between trigram runs (:data:`GAP_VALUES`). 3: dense id keys, 5
bits a ULID character (:func:`indexers.keys.id_keys`)."""

_RAW = {"stored": True, "tokenizer_name": "raw", "index_option": "basic"}
_TOKENS = {"tokenizer_name": NUL, "index_option": "basic"}
_PHRASES = {"tokenizer_name": NUL, "index_option": "position"}
_FAST = {"fast": True}
_INDEXED = {"indexed": True}

RANGE_KEYS: tuple[tuple[str, str], ...] = (
    (ID_KEYS[0], "unsigned"),
    *((name, "integer") for name in SORT_DATE_FIELDS),
    *((f"o_{name}_1", "unsigned") for name in SORT_TEXT_FIELDS),
)
"""(fast field, tantivy type) of the first key of every served order, indexed again under
:func:`range_key`. A range on a fast field scans every document's value; one on an indexed
field reads only the terms inside it (a first page's range at 1,000,000: 0.8 vs 0.085 ms,
measured). Every customer document holds each of these keys (dates: ``created_at`` and
``updated_at`` are never null), so a range of them cuts a prefix of the list's order (see
:mod:`indexers.backends.embedded.narrowing`)."""


def range_key(field: str) -> str:
    """The indexed twin of the fast key ``field`` (one of :data:`RANGE_KEYS`)."""
    return f"r_{field}"


FIELDS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("id", "text", _RAW),
    *((name, "unsigned", _FAST) for name in ID_KEYS),
    ("state", "unsigned", {"indexed": True, "fast": True}),
    ("flags", "text", _TOKENS),
    ("version", "unsigned", _FAST),
    *((name, "text", _RAW) for name in KEPT_FIELDS),
    ("nulls", "text", _TOKENS),
    *((name, "unsigned", _FAST) for name in LAYOUT.flags),
    # stored so that documents() can return the whole SearchDoc (verify compares content)
    ("groups", "text", {**_TOKENS, "stored": True}),
    *((name, "integer", _FAST) for name in DATE_FIELDS),
    *((f"o_{name}_{key}", "unsigned", _FAST) for name in SORT_TEXT_FIELDS for key in (1, 2)),
    *((range_key(name), kind, _INDEXED) for name, kind in RANGE_KEYS),
    # exact q: trigram runs (with positions) and word-start prefixes; the same for phone digits
    ("g3", "text", _PHRASES),
    ("s", "text", _TOKENS),
    ("gd", "text", _PHRASES),
    ("sd", "text", _TOKENS),
    # ranked lookup
    *((name, "text", _TOKENS) for name in WORD_FIELDS),
    # the response document (indexers.listed): stored only
    ("listed", "bytes", {"stored": True, "indexed": False}),
)
"""(name, tantivy type, options) of every field, in schema order (the order is part of it)."""


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name, kind, options in FIELDS:
        getattr(builder, f"add_{kind}_field")(name, **options)
    return builder.build()


SCHEMA = _schema()
_ENGINE = {"engine": "tantivy", "version": SCHEMA_VERSION, "fields": FIELDS}
FINGERPRINT = fingerprint(_ENGINE)
"""What an index built now holds (see :func:`indexers.documents.fingerprint`)."""
ACCEPTED = accepted_fingerprints(_ENGINE)
"""The fingerprints of the generations this code opens (FINGERPRINT among them)."""
LEGACY_FINGERPRINT = "be30e7bdd177fd37"
"""What the generations built before generations recorded a fingerprint hold: the same schema
and documents as the first fingerprinted ones, whose fingerprint this is. Never change it."""
FINGERPRINT_FILE = "SCHEMA"

READ_BACK = (
    *("id", "state", "version", "groups", "listed"),
    *KEPT_FIELDS,
    *LAYOUT.flags,
    *DATE_FIELDS,
)
"""The fields a document is read back from (``documents.stored_docs``)."""
DOCUMENTS = documents_fingerprint(
    {"engine": "tantivy", "fields": [field for field in FIELDS if field[0] in READ_BACK]}
)
"""What a generation built now gives back (see :func:`indexers.documents.documents_fingerprint`):
a generation of another :data:`FINGERPRINT` but these documents is rebuilt from itself."""
DOCUMENTS_FILE = "DOCUMENTS"
UNSTAMPED_DOCUMENTS = {"ef5d3b99d051d158": "7d09a1e95e4e68db"}
"""The documents of the generations built before generations recorded them (the file
``DOCUMENTS``), by the fingerprint they recorded. Never change it."""


def recorded_documents(path: Path) -> str | None:
    """The documents fingerprint of the generation at ``path`` (None: not known)."""
    try:
        return (path / DOCUMENTS_FILE).read_text().strip()
    except FileNotFoundError:
        pass
    try:
        recorded = (path / FINGERPRINT_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    return UNSTAMPED_DOCUMENTS.get(recorded)


def _record(path: Path, name: str, value: str) -> None:
    """Write ``value`` to the file ``name`` atomically (readers in other processes too)."""
    tmp = path / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_text(value + "\n")
    os.replace(tmp, path / name)


def _check_fingerprint(path: Path) -> None:
    try:
        recorded = (path / FINGERPRINT_FILE).read_text().strip()
    except FileNotFoundError:
        recorded = LEGACY_FINGERPRINT
    if recorded not in ACCEPTED:
        raise IncompatibleIndex(
            f"{path} was built with schema {recorded}, this is {FINGERPRINT}: reindex"
        )


def open_index(path: Path) -> tantivy.Index:
    """Open (or create, in an empty directory) the tantivy index at ``path``.

    :raise IncompatibleIndex: it was built with another fingerprint or tantivy schema.
    """
    if (path / "meta.json").exists():
        _check_fingerprint(path)
        if not (path / DOCUMENTS_FILE).exists():  # opened compatible: it holds today's documents
            with contextlib.suppress(OSError):  # best effort (a read-only reader, say)
                _record(path, DOCUMENTS_FILE, DOCUMENTS)
    else:
        _record(path, FINGERPRINT_FILE, FINGERPRINT)
        _record(path, DOCUMENTS_FILE, DOCUMENTS)
    try:
        index = tantivy.Index(SCHEMA, path=str(path), reuse=True)
    except ValueError as exc:
        if "schema does not match" in str(exc):
            raise IncompatibleIndex(f"{path} was built with another schema: reindex") from exc
        raise
    index.register_tokenizer(
        NUL, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex("[^\\x00]+")).build()
    )
    return index
