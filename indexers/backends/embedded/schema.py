"""The tantivy schema of a customer document, and opening an index directory with it.

Every document carries its version; a hard delete leaves a tombstone document (state 2) that is
never returned by reads but keeps the version, so a stale write can never resurrect a customer.

Token lists are joined with NUL and split by a registered regex tokenizer (one FFI call per
field). The trigram runs of the fields (``g3``) are :data:`~indexers.analysis.RUN_GAP`
positions apart.
"""

from __future__ import annotations

from pathlib import Path

import tantivy

from indexers.analysis import RUN_GAP
from indexers.backends.base import IncompatibleIndex
from indexers.documents import DATE_FIELDS, EXACT_FIELDS, SORT_TEXT_FIELDS

__all__ = ["GAP", "ID_KEYS", "NUL", "SCHEMA", "SEP", "open_index"]

NUL = "nul"  # tokenizer: tokens separated by NUL, positions counted per token
SEP = "\x00"
ID_KEYS = ("idk", "idk2", "idk3", "idk4")
# RUN_GAP one-character tokens between fields: no trigram phrase spans them
GAP = SEP + SEP.join(["\x01"] * RUN_GAP) + SEP


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    for name in ID_KEYS:
        b.add_unsigned_field(name, fast=True)
    b.add_unsigned_field("state", indexed=True, fast=True)
    b.add_text_field("flags", tokenizer_name=NUL, index_option="basic")
    b.add_unsigned_field("version", fast=True)
    for name in EXACT_FIELDS:
        b.add_text_field(name, stored=True, tokenizer_name="raw", index_option="basic")
    b.add_text_field("nulls", tokenizer_name=NUL, index_option="basic")
    b.add_unsigned_field("has_account", fast=True)
    # stored so that documents() can return the whole SearchDoc (verify compares content)
    b.add_text_field("groups", stored=True, tokenizer_name=NUL, index_option="basic")
    for name in DATE_FIELDS:
        b.add_integer_field(name, fast=True)
    for name in SORT_TEXT_FIELDS:
        b.add_unsigned_field(f"o_{name}_1", fast=True)
        b.add_unsigned_field(f"o_{name}_2", fast=True)
    # exact q: trigram runs (with positions) and word-start prefixes; the same for phone digits
    b.add_text_field("g3", tokenizer_name=NUL, index_option="position")
    b.add_text_field("s", tokenizer_name=NUL, index_option="basic")
    b.add_text_field("gd", tokenizer_name=NUL, index_option="position")
    b.add_text_field("sd", tokenizer_name=NUL, index_option="basic")
    # ranked lookup
    for name in ("w_first", "w_last", "w_company", "w_email"):
        b.add_text_field(name, tokenizer_name=NUL, index_option="basic")
    return b.build()


SCHEMA = _schema()


def open_index(path: Path) -> tantivy.Index:
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
