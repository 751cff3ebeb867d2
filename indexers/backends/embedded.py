"""The embedded engine: tantivy index files under the data directory.

Layout of ``root`` (``<data dir>/search``)::

    ACTIVE            name of the generation readers use (replaced atomically with os.replace)
    g-<ns>-<hex>/     one tantivy index per generation

Every document carries its version; a hard delete leaves a tombstone document (state 2) that is
never returned by reads but keeps the version, so a stale write can never resurrect a customer.
All tantivy calls run in worker threads (``asyncio.to_thread``); writes to one generation are
serialized by a lock, and each ``apply`` ends with a commit (durable before the caller
checkpoints). Readers reload the index before each query, so a commit made by another process
(``customers index``) is visible at once.

A reindex fills a fresh generation through ``bulk_load``: no version lookups, no deletes, a
commit every ``BULK_COMMIT_DOCS``; only the ids the sync loop's dual writes touched meanwhile
(remembered in memory until activation) are compared. tantivy allows one writer per index
(another process gets ``BackendUnavailable``); ``release_writer`` lets it go, reads go on.

Exact ``q``: see :mod:`indexers.analysis` (trigram phrases + word-start prefixes). Token lists
are joined with NUL and split by a registered regex tokenizer (one FFI call per field). The
trigram runs of the fields (``g3``) are :data:`~indexers.analysis.RUN_GAP` positions apart.

Bounded reads: a page never asks tantivy for more than the matches (its top-k collector
allocates per requested hit, so an offset is clamped to the count first); reads run in a pool
of ``read_threads`` threads of their own, so at most that many searches use CPU at once, even
after their callers stopped waiting for them (tantivy cannot cancel a search). Those threads
run at a lower CPU priority (nice +:data:`SEARCH_NICENESS`): searches may take every idle core,
but never the time the event loop and the HTTP threads need (``/health`` answers at once).

Ordering: tantivy sorts numbers fast and strings slowly (a 1,000-hit string sort costs ~160 ms
at 1M), so every order is a cascade of u64/i64 fast fields that never contradict the exact
order (:func:`indexers.analysis.id_keys`, ``text_keys``, dates in ms); ``_Pager`` serves a page
by the first key and only re-orders groups of equal keys that the page cuts, from the next key
down to the stored values. Count and first page come from one search.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import tantivy

from app.textsearch import digits_of, searched, searched_digits
from indexers.analysis import (
    RUN_GAP,
    TEXT_FIELDS,
    boundary_prefixes_of,
    covering_trigrams,
    digit_prefixes,
    email_words,
    epoch_ms,
    id_keys,
    index_words,
    joined_trigrams,
    plan_words,
    text_keys,
    trigrams,
)
from indexers.backends.base import (
    ApplyResult,
    BackendError,
    BackendUnavailable,
    Delete,
    IncompatibleIndex,
    SearchBackend,
    Upsert,
)
from indexers.documents import SearchDoc
from indexers.query import Hit, ListQuery, NotServable, RankedQuery
from indexers.ranking import Highlighter, RankedPlan, fuzzy_distance, plan_ranked

__all__ = ["EmbeddedBackend"]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

LIVE, SOFT_DELETED, TOMBSTONE = 0, 1, 2
ACTIVE_FILE = "ACTIVE"
HEAP_BYTES = 256_000_000  # split between the writer threads (tantivy needs >= 15 MB each)
# One indexing thread: on 2 cores shared with Python and MongoDB, a second one cost more CPU
# (86 vs 73 µs/doc at 100k) than it saved in wall time, and doubled the segments to merge.
WRITER_THREADS = 1
BULK_COMMIT_DOCS = 250_000  # a reindex load commits this rarely: fewer segments to merge
SEARCH_NICENESS = 10  # search threads yield the CPU to the event loop and the HTTP threads
EXACT_FIELDS = ("email", "first_name", "last_name", "company_name", "phone", "created_by")
DATE_FIELDS = ("created_at", "updated_at", "deleted_at")
SORT_TEXT_FIELDS = ("email", "first_name", "last_name", "company_name")
SORT_DATE_FIELDS = ("created_at", "updated_at")
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


def _open_index(path: Path) -> tantivy.Index:
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


def _tombstone(id: str, version: int) -> tantivy.Document:
    return tantivy.Document.from_dict({"id": id, "state": TOMBSTONE, "version": version}, SCHEMA)


# -- query building ----------------------------------------------------------------------------
Q = tantivy.Query
MUST, SHOULD, MUST_NOT = tantivy.Occur.Must, tantivy.Occur.Should, tantivy.Occur.MustNot
U64, I64 = tantivy.FieldType.Unsigned, tantivy.FieldType.Integer


def _term(field: str, value: Any) -> tantivy.Query:
    return Q.term_query(SCHEMA, field, value, index_option="basic")


def _phrase(field: str, grams: Sequence[tuple[int, str]]) -> tantivy.Query:
    """The phrase of (offset, trigram) pairs (see :func:`indexers.analysis.covering_trigrams`)."""
    if len(grams) == 1:
        return _term(field, grams[0][1])
    return Q.phrase_query(SCHEMA, field, list(grams))


def _any(queries: list[tantivy.Query]) -> tantivy.Query:
    if not queries:
        return Q.empty_query()
    if len(queries) == 1:
        return queries[0]
    return Q.boolean_query([(SHOULD, q) for q in queries])


def _all(queries: list[tantivy.Query]) -> tantivy.Query:
    return queries[0] if len(queries) == 1 else Q.boolean_query([(MUST, q) for q in queries])


def q_query(q: str | None) -> list[tantivy.Query]:
    """Return one clause per word of ``q``; a document must match all of them."""
    clauses = []
    for plan in plan_words(q):
        options = []
        if plan.text_trigrams:
            options.append(_phrase("g3", plan.text_trigrams))
        if plan.text_prefix is not None:
            options.append(_term("s", plan.text_prefix))
        if plan.digit_trigrams:
            options.append(_phrase("gd", plan.digit_trigrams))
        if plan.digit_prefix is not None:
            options.append(_term("sd", plan.digit_prefix))
        clauses.append(_any(options))
    return clauses


def _value_query(field: str, value: str | None) -> tantivy.Query:
    return _term("nulls", field) if value is None else _term(field, value)


def filter_clauses(query: ListQuery) -> list[tuple[tantivy.Occur, tantivy.Query]] | None:
    """Return the boolean clauses of a list query's filters (None: it matches nothing)."""
    states = [LIVE, SOFT_DELETED] if query.with_deleted else [LIVE]
    suffix = "" if query.has_account is None else f"a{int(query.has_account)}"
    flags = [f"s{state}{suffix}" for state in states]
    # one term when possible: intersecting two huge posting lists costs milliseconds at 1M
    if len(flags) == 1:
        clauses = [(MUST, _term("flags", flags[0]))]
    else:
        clauses = [(MUST, Q.term_set_query(SCHEMA, "flags", flags))]
    for term in query.terms:
        field = term.field
        if field not in EXACT_FIELDS and field != "id":
            raise NotServable(f"no exact filter on {field!r}")
        if term.in_ is not None:
            if not term.in_:
                return None
            values = sorted(term.in_, key=str)
            clauses.append((MUST, _any([_value_query(field, v) for v in values])))
        for value in sorted(term.nin, key=str):
            clauses.append((MUST_NOT, _value_query(field, value)))
    for rng in query.ranges:
        if rng.field not in DATE_FIELDS:
            raise NotServable(f"no range filter on {rng.field!r}")
        lower = upper = None
        inc_lower = inc_upper = True
        if rng.gt is not None:
            lower, inc_lower = epoch_ms(rng.gt), False
        if rng.gte is not None:
            value = epoch_ms(rng.gte)
            if lower is None or value > lower:
                lower, inc_lower = value, True
        if rng.lt is not None:
            upper, inc_upper = epoch_ms(rng.lt), False
        if rng.lte is not None:
            value = epoch_ms(rng.lte)
            if upper is None or value < upper:
                upper, inc_upper = value, True
        if lower is None and upper is None:
            continue
        clauses.append(
            (
                MUST,
                Q.range_query(
                    SCHEMA,
                    rng.field,
                    I64,
                    lower,
                    upper,
                    include_lower=inc_lower,
                    include_upper=inc_upper,
                ),
            )
        )
    if query.group_ids is not None:
        if not query.group_ids:
            return None
        clauses.append((MUST, Q.term_set_query(SCHEMA, "groups", sorted(query.group_ids))))
    for clause in q_query(query.q):
        clauses.append((MUST, clause))
    return clauses


# -- ordering ----------------------------------------------------------------------------------
Level = tuple[str, bool, Any]  # (numeric fast field, ascending, field type)
Residual = list[tuple[str, bool]]  # (stored field, descending), applied most significant first


def sort_plan(order: Sequence[tuple[str, str]]) -> tuple[list[Level], Residual]:
    """Return the numeric key levels and the exact residual order for Medusa's ``order``.

    The id is always the last tie-breaker (ascending unless the order names it).
    """
    keys = [(f, str(d).upper()) for f, d in order] or [("id", "ASC")]
    if any(d not in ("ASC", "DESC") for _, d in keys):
        raise NotServable(f"order {order!r}")
    field, direction = keys[0]
    asc = direction == "ASC"
    if field == "id":
        if len(keys) > 1:
            raise NotServable(f"order {order!r}")
        return [(name, asc, U64) for name in ID_KEYS], [("id", not asc)]
    if len(keys) > 2 or (len(keys) == 2 and keys[1][0] != "id"):
        raise NotServable(f"order {order!r}")
    tie_asc = len(keys) == 1 or keys[1][1] == "ASC"
    if field in SORT_DATE_FIELDS:
        ids = [(name, tie_asc, U64) for name in ID_KEYS]
        return [(field, asc, I64), *ids], [("id", not tie_asc)]
    if field in SORT_TEXT_FIELDS:
        levels = [
            (f"o_{field}_1", asc, U64),
            (f"o_{field}_2", asc, U64),
            *((name, tie_asc, U64) for name in ID_KEYS),
        ]
        return levels, [(field, not asc), ("id", not tie_asc)]
    raise NotServable(f"order by {field!r}")


def _residual_sort(docs: list[tuple[dict[str, Any], Any]], residual: Residual) -> list[Any]:
    for name, desc in reversed(residual):
        docs.sort(
            key=lambda d, n=name: (
                (d[0].get(n) or [None])[0] is not None,
                (d[0].get(n) or [""])[0],
            ),
            reverse=desc,
        )
    return [addr for _, addr in docs]


class _Pager:
    """Serve one exact page by numeric keys, fixing ties group by group."""

    def __init__(self, searcher: tantivy.Searcher, levels: list[Level], residual: Residual):
        self.searcher = searcher
        self.levels = levels
        self.residual = residual

    def count(self, query: tantivy.Query) -> int:
        return self.searcher.search(query, 1, count=True).count

    def page(
        self, query: tantivy.Query, depth: int, skip: int, take: int, *, total: bool = False
    ) -> list[Any]:
        """Return the addresses at positions [skip, skip + take) in the exact order.

        With ``total``, the number of matches is left in ``self.total`` (same search).
        """
        if depth == len(self.levels):
            count = self.count(query)
            hits = self.searcher.search(query, max(count, 1), count=False).hits
            docs = [(self.searcher.doc(addr).to_dict(), addr) for _, addr in hits]
            return _residual_sort(docs, self.residual)[skip : skip + take]
        field, asc, kind = self.levels[depth]
        order = tantivy.Order.Asc if asc else tantivy.Order.Desc
        # one neighbour on each side tells whether the first/last group is cut by the page
        lead = 1 if skip > 0 else 0
        result = self.searcher.search(
            query,
            take + lead + 1,
            count=total,
            order_by_field=field,
            offset=skip - lead,
            order=order,
        )
        if total:
            self.total = result.count
        hits = result.hits
        before = hits[0][0] if lead and hits else None
        window = hits[lead : lead + take]
        after = hits[lead + take][0] if len(hits) > lead + take else None
        runs: list[tuple[Any, list[Any]]] = []
        for value, addr in window:
            if runs and runs[-1][0] == value:
                runs[-1][1].append(addr)
            else:
                runs.append((value, [addr]))
        out: list[Any] = []
        position = skip
        for index, (value, addrs) in enumerate(runs):
            cut_before = index == 0 and lead == 1 and before == value
            cut_after = index == len(runs) - 1 and after is not None and after == value
            if len(addrs) == 1 and not cut_before and not cut_after:
                out.extend(addrs)  # the whole group is this one document
            else:
                equal = Q.range_query(SCHEMA, field, kind, value, value)
                group = Q.boolean_query([(MUST, query), (MUST, equal)])
                if cut_before:
                    lower, upper = (None, value) if asc else (value, None)
                    earlier = Q.range_query(
                        SCHEMA, field, kind, lower, upper, include_lower=asc, include_upper=not asc
                    )
                    start = self.count(Q.boolean_query([(MUST, query), (MUST, earlier)]))
                else:
                    start = position  # the group starts inside the page
                # an odd second text key: values differ beyond the key, order them exactly
                partial = field.startswith("o_") and field.endswith("_2") and value & 1
                deeper = len(self.levels) if partial else depth + 1
                out.extend(self.page(group, deeper, position - start, len(addrs)))
            position += len(addrs)
        return out


# -- stored documents ---------------------------------------------------------------------------
def _first(stored: dict[str, list[Any]], name: str) -> Any:
    values = stored.get(name)
    return values[0] if values else None


def _datetime(ms: int | None) -> datetime | None:
    return None if ms is None else _EPOCH + timedelta(milliseconds=ms)


def _stored_docs(searcher: tantivy.Searcher, addrs: list[Any]) -> dict[str, SearchDoc]:
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


# -- one generation -----------------------------------------------------------------------------
class _Generation:
    """One tantivy index directory, with its writer (opened lazily) and write lock.

    A generation this process created (``fresh``) accepts :meth:`bulk_load` until it is
    activated: ``_applied`` remembers the version of every id ``apply`` wrote meanwhile (the
    sync loop's dual writes, a few), which is all a load needs to know to keep the newer
    version, since nothing else is in a fresh index.
    """

    def __init__(self, path: Path, *, fresh: bool = False) -> None:
        self.path = path
        self.index = _open_index(path)
        self.lock = threading.Lock()
        self._writer: tantivy.IndexWriter | None = None
        self._applied: dict[str, int] | None = {} if fresh else None
        self._unflushed = 0  # bulk-loaded documents not committed yet
        self._broken: str | None = None  # why bulk-loaded documents were lost

    @property
    def writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self.index.writer(HEAP_BYTES, WRITER_THREADS)
            except ValueError as exc:  # tantivy reports LockBusy as a bare ValueError
                if "LockBusy" not in str(exc):
                    raise
                raise BackendUnavailable(
                    f"{self.path.name}: another writer holds the index lock "
                    "(an indexer in another process?)"
                ) from exc
            # A writer killed mid-commit leaves files its meta.json never listed (a delete
            # bitset named by segment and opstamp); replaying the same batch would write the
            # same name and fail with FileAlreadyExists forever. Remove them first.
            self._writer.garbage_collect_files()
        return self._writer

    def searcher(self) -> tantivy.Searcher:
        self.index.reload()
        return self.index.searcher()

    def end_bulk(self) -> None:
        """Stop accepting bulk loads (the generation became active: others may write it)."""
        with self.lock:
            self._applied = None

    def release_writer(self) -> None:
        """Commit pending bulk documents, then drop the writer and its lock; reads go on."""
        with self.lock:
            if self._writer is None:
                return
            with contextlib.suppress(Exception):
                if self._unflushed:
                    self._commit()
                self._writer.wait_merging_threads()
            self._writer = None
            self._unflushed = 0

    def close(self) -> None:
        """Drop the writer, discarding uncommitted bulk documents (the generation is being
        dropped, or the process stops and an unfinished reindex starts over anyway)."""
        with self.lock:
            if self._writer is None:
                return
            with contextlib.suppress(Exception):
                if self._unflushed:
                    self._writer.rollback()
                self._writer.wait_merging_threads()
            self._writer = None
            self._unflushed = 0

    def _commit(self) -> None:
        """Commit bulk-loaded documents (under ``self.lock``).

        If that fails they are lost, and nothing later could notice: the generation is marked
        broken, so every further write fails and the reindex rebuilds it.
        """
        try:
            self.writer.commit()
        except Exception as exc:
            with contextlib.suppress(Exception):
                self.writer.rollback()
            self._broken = f"{type(exc).__name__}: {exc}"
            self._check()
        finally:
            self._unflushed = 0

    def _check(self) -> None:
        if self._broken is not None:
            raise BackendError(f"{self.path.name} lost bulk-loaded documents: {self._broken}")

    def refresh(self) -> None:
        """Commit bulk-loaded documents, then show readers the newest commit."""
        with self.lock:
            if self._unflushed:
                self._commit()
        self.index.reload()

    # -- blocking operations (run in a worker thread) --
    @staticmethod
    def _ids_and_versions(
        searcher: tantivy.Searcher, query: tantivy.Query, limit: int
    ) -> list[tuple[str, int, int]]:
        """Return (id, version, state) of every match (ids read from the doc store)."""
        if limit <= 0:
            return []
        hits = searcher.search(query, limit, count=False).hits
        addrs = [addr for _, addr in hits]
        versions = searcher.fast_field_values("version", addrs)
        states = searcher.fast_field_values("state", addrs)
        return [
            (searcher.doc(addr).get_first("id"), version, state)
            for addr, version, state in zip(addrs, versions, states, strict=True)
        ]

    def stored_versions(self, ids: Sequence[str], *, tombstones: bool) -> dict[str, int]:
        searcher = self.searcher()
        out: dict[str, int] = {}
        if searcher.num_docs == 0:
            return out
        for start in range(0, len(ids), 10_000):
            chunk = list(ids[start : start + 10_000])
            query = Q.term_set_query(SCHEMA, "id", chunk)
            found = searcher.search(query, 1, count=True).count
            for id, version, state in self._ids_and_versions(searcher, query, found):
                if (tombstones or state != TOMBSTONE) and version > out.get(id, -1):
                    out[id] = version
        return out

    def all_versions(self) -> dict[str, int]:
        searcher = self.searcher()
        query = Q.term_set_query(SCHEMA, "state", [LIVE, SOFT_DELETED])
        return {id: v for id, v, _ in self._ids_and_versions(searcher, query, searcher.num_docs)}

    def apply(self, ops: Sequence[Upsert | Delete]) -> ApplyResult:
        result = ApplyResult()
        with self.lock:
            self._check()
            if self._unflushed:  # the version lookup below must see bulk-loaded documents
                self._commit()
            ids = list(dict.fromkeys(op.id for op in ops))
            current = self.stored_versions(ids, tombstones=True)
            stored = set(current)
            final: dict[str, Upsert | Delete] = {}
            for op in ops:
                if op.version > current.get(op.id, -1):
                    current[op.id] = op.version
                    final[op.id] = op
            if not final:
                return result
            writer = self.writer
            written: dict[str, int] = {}
            try:
                # build and add one by one: tantivy indexes in its threads meanwhile
                for id, op in final.items():
                    try:
                        doc = (
                            to_tantivy(op.doc)
                            if isinstance(op, Upsert)
                            else _tombstone(id, op.version)
                        )
                    except (ValueError, TypeError, OverflowError) as exc:
                        result.rejected.append((id, f"{type(exc).__name__}: {exc}"))
                        continue
                    if id in stored:  # only an id already in the index has a doc to replace
                        writer.delete_documents_by_term("id", id)
                    writer.add_document(doc)
                    written[id] = op.version
                writer.commit()
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    writer.rollback()
                if isinstance(exc, (OSError, ValueError, RuntimeError)):
                    raise BackendUnavailable(f"tantivy write failed: {exc}") from exc
                raise
            if self._applied is not None:
                self._applied.update(written)
            self.index.reload()
        return result

    def bulk_load(self, docs: Sequence[SearchDoc]) -> ApplyResult | None:
        """Add copied documents with no lookups and no commit (None: not a fresh generation).

        Only ids ``apply`` wrote since the generation was created can exist, so only those
        are compared and replaced. Commits happen every ``BULK_COMMIT_DOCS`` documents, on
        :meth:`refresh` and before the next ``apply``.

        :raise BackendError: the add failed and the uncommitted documents were rolled back:
            the generation is incomplete and must be rebuilt (retrying cannot repair it).
        """
        result = ApplyResult()
        with self.lock:
            self._check()
            applied = self._applied
            if applied is None:
                return None
            writer = self.writer
            try:
                for doc in docs:
                    newer = applied.get(doc.id)
                    if newer is not None:
                        if newer >= doc.version:
                            continue
                        writer.delete_documents_by_term("id", doc.id)
                    try:
                        built = to_tantivy(doc)
                    except (ValueError, TypeError, OverflowError) as exc:
                        result.rejected.append((doc.id, f"{type(exc).__name__}: {exc}"))
                        continue
                    writer.add_document(built)
                self._unflushed += len(docs)
                if self._unflushed >= BULK_COMMIT_DOCS:
                    self._commit()
            except BackendError:
                raise  # from _commit: already marked broken
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    writer.rollback()
                self._unflushed = 0
                self._broken = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, (OSError, ValueError, RuntimeError)):
                    raise BackendError(
                        f"tantivy bulk load failed; rebuild {self.path.name}: {exc}"
                    ) from exc
                raise
        return result

    def documents(self, ids: Sequence[str]) -> dict[str, SearchDoc]:
        searcher = self.searcher()
        out: dict[str, SearchDoc] = {}
        if searcher.num_docs == 0:
            return out
        live = Q.term_set_query(SCHEMA, "state", [LIVE, SOFT_DELETED])
        for start in range(0, len(ids), 10_000):
            chunk = list(ids[start : start + 10_000])
            query = Q.boolean_query([(MUST, Q.term_set_query(SCHEMA, "id", chunk)), (MUST, live)])
            found = searcher.search(query, 1, count=True).count
            if found:
                hits = searcher.search(query, found, count=False).hits
                out.update(_stored_docs(searcher, [addr for _, addr in hits]))
        return out

    def count(self) -> int:
        searcher = self.searcher()
        query = Q.term_set_query(SCHEMA, "state", [LIVE, SOFT_DELETED])
        return searcher.search(query, 1, count=True).count

    def list_ids(self, query: ListQuery) -> tuple[list[str], int]:
        levels, residual = sort_plan(query.order)
        clauses = filter_clauses(query)
        if clauses is None:
            return [], 0
        searcher = self.searcher()
        tq = Q.boolean_query(clauses)
        pager = _Pager(searcher, levels, residual)
        if query.skip == 0 and query.take:  # the count and the first page in one search
            addrs = pager.page(tq, 0, 0, query.take, total=True)
            return [searcher.doc(addr).get_first("id") for addr in addrs], pager.total
        # tantivy's top-k collector allocates for offset + limit hits up front: ask for no more
        # than match, so an offset of 2**31 costs what the count costs
        total = pager.count(tq)
        room = total - query.skip
        take = room if query.take is None else min(query.take, room)
        if take <= 0:
            return [], total
        addrs = pager.page(tq, 0, query.skip, take)
        return [searcher.doc(addr).get_first("id") for addr in addrs], total

    def search(self, query: RankedQuery) -> tuple[list[Hit], int]:
        plan = plan_ranked(query.q)
        if plan is None:
            return [], 0
        clauses = filter_clauses(query.filters)
        if clauses is None:
            return [], 0
        searcher = self.searcher()
        filters = Q.const_score_query(Q.boolean_query(clauses), 0.0)  # filters do not score
        tq = Q.boolean_query([(MUST, filters), (MUST, _ranked_query(plan))])
        result = searcher.search(tq, max(query.limit, 1), count=True)
        hits = []
        highlight = Highlighter(plan)
        for score, addr in result.hits:
            stored = searcher.doc(addr).to_dict()
            record = {name: (stored.get(name) or [None])[0] for name in TEXT_FIELDS}
            hits.append(
                Hit(
                    id=stored["id"][0],
                    score=round(float(score), 4),
                    highlights=highlight(record),
                )
            )
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[: query.limit], result.count


WORD_FIELDS = ("w_first", "w_last", "w_company", "w_email")
FUZZY_FIELDS = ("w_first", "w_last", "w_company")  # email words: exact or prefix only


def _word_query(field: str, word: str, *, exact: bool) -> tantivy.Query:
    distance = fuzzy_distance(word)
    if exact or not distance:
        return _term(field, word)
    return Q.fuzzy_term_query(SCHEMA, field, word, distance=distance)


def _ranked_query(plan: RankedPlan) -> tantivy.Query:
    """Build the tiered ranked query: exact email/phone > full name > prefix > fuzzy."""
    const = Q.const_score_query
    tiers: list[tuple[tantivy.Occur, tantivy.Query]] = []
    if plan.email:
        tiers.append((SHOULD, const(_term("email", plan.email), 1000.0)))
    if plan.phone_digits:
        exact_phone = _phrase("gd", covering_trigrams(f"^{plan.phone_digits}$"))
        tiers.append((SHOULD, const(exact_phone, 1000.0)))
        if len(plan.phone_digits) >= 4:
            suffix = _phrase("gd", covering_trigrams(f"{plan.phone_digits}$"))
            tiers.append((SHOULD, const(suffix, 500.0)))
    if len(plan.words) >= 2:
        pairs = [(plan.words[0], plan.words[-1]), (plan.words[-1], plan.words[0])]
        for exact, score in ((True, 200.0), (False, 100.0)):
            tiers.append(
                (
                    SHOULD,
                    const(
                        _any(
                            [
                                _all(
                                    [
                                        _word_query("w_first", a, exact=exact),
                                        _word_query("w_last", b, exact=exact),
                                    ]
                                )
                                for a, b in pairs
                            ]
                        ),
                        score,
                    ),
                )
            )
    # every word must match somewhere: exact word 30, prefix (last word) 10, fuzzy 3, substring 1
    per_word: list[tuple[tantivy.Occur, tantivy.Query]] = []
    for index, word in enumerate(plan.words):
        is_last = index == len(plan.words) - 1
        options = [const(_any([_term(f, word) for f in WORD_FIELDS]), 30.0)]
        if is_last and plan.prefix_last:
            options.append(
                const(
                    _any(
                        [
                            Q.fuzzy_term_query(SCHEMA, f, word, distance=0, prefix=True)
                            for f in WORD_FIELDS
                        ]
                    ),
                    10.0,
                )
            )
        distance = fuzzy_distance(word)
        if distance:
            prefix = is_last and plan.prefix_last
            fuzzy = [
                Q.fuzzy_term_query(SCHEMA, f, word, distance=distance, prefix=prefix)
                for f in FUZZY_FIELDS
            ]
            options.append(const(_any(fuzzy), 3.0))
        substring = q_query(plan.raw_words[index])
        if substring:
            options.append(const(substring[0], 1.0))
        if plan.word_digits[index]:
            suffix = _phrase("gd", covering_trigrams(f"{plan.word_digits[index]}$"))
            options.append(const(suffix, 50.0))
        per_word.append((MUST, Q.disjunction_max_query(options)))
    if per_word:
        tiers.append((SHOULD, Q.boolean_query(per_word)))
    return Q.boolean_query(tiers)


# -- the backend -----------------------------------------------------------------------------
class EmbeddedBackend(SearchBackend):
    """tantivy generations under ``root``; writes go to the active one unless pinned.

    :param root: directory holding the generations and the ``ACTIVE`` pointer.
    :param read_threads: searches running at once (``CUSTOMERS_SEARCH_CONCURRENCY``); more wait.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        read_threads: int = 4,
        _shared: _Shared | None = None,
        _pinned: str | None = None,
    ) -> None:
        self.root = Path(root)
        self._shared = _shared or _Shared(self.root, read_threads)
        self._pinned = _pinned

    def __repr__(self) -> str:
        target = f" generation={self._pinned}" if self._pinned else ""
        return f"<EmbeddedBackend {self.root}{target}>"

    # -- helpers --
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args)
        except BackendError:
            raise
        except OSError as exc:
            raise BackendUnavailable(f"tantivy: {exc}") from exc

    async def _search(self, fn: Callable[[], T]) -> T:
        """Run a search in the read pool: it keeps its thread until done, even when its caller
        stopped waiting, so at most ``read_threads`` searches ever use CPU at once."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._shared.readers(), fn)
        except BackendError:
            raise
        except OSError as exc:
            raise BackendUnavailable(f"tantivy: {exc}") from exc

    def _target(self, *, create: bool) -> _Generation | None:
        name = self._pinned or self._shared.read_active()
        if name is None:
            if not create:
                return None
            name = self._shared.create_and_activate_first()
        return self._shared.open(name)

    def _reader(self) -> _Generation:
        generation = self._target(create=False)
        if generation is None:
            raise NotServable("no active search index yet")
        return generation

    # -- writes --
    async def apply(self, ops: Sequence[Upsert | Delete]) -> ApplyResult:
        if not ops:
            return ApplyResult()
        return await self._run(lambda: self._target(create=True).apply(ops))

    async def bulk_load(self, docs: Sequence[SearchDoc]) -> ApplyResult:
        if not docs:
            return ApplyResult()
        result = await self._run(lambda: self._target(create=True).bulk_load(docs))
        if result is None:  # opened from disk, or already active: the versioned path
            return await self.apply([Upsert(doc) for doc in docs])
        return result

    async def refresh(self) -> None:
        generation = self._target(create=False)
        if generation is not None:
            await self._run(generation.refresh)

    async def release_writer(self) -> None:
        if self._pinned is None:
            await self._run(self._shared.release_writers)
            return
        generation = self._target(create=False)
        if generation is not None:
            await self._run(generation.release_writer)

    # -- inspection --
    async def versions(self, ids: Sequence[str] | None = None) -> dict[str, int]:
        generation = self._target(create=False)
        if generation is None:
            return {}
        if ids is None:
            return await self._run(generation.all_versions)
        return await self._run(lambda: generation.stored_versions(list(ids), tombstones=False))

    async def documents(self, ids: Sequence[str]) -> dict[str, SearchDoc]:
        generation = self._target(create=False)
        if generation is None or not ids:
            return {}
        return await self._run(generation.documents, list(ids))

    async def count(self) -> int:
        generation = self._target(create=False)
        return 0 if generation is None else await self._run(generation.count)

    # -- reads --
    async def list_ids(self, query: ListQuery) -> tuple[list[str], int]:
        return await self._search(lambda: self._reader().list_ids(query))

    async def search(self, query: RankedQuery) -> tuple[list[Hit], int]:
        return await self._search(lambda: self._reader().search(query))

    # -- generations --
    async def create_generation(self) -> str:
        return await self._run(self._shared.create)

    def writer_for(self, generation: str) -> EmbeddedBackend:
        if not self._shared.exists(generation):
            raise BackendError(f"no generation {generation!r}")
        return EmbeddedBackend(self.root, _shared=self._shared, _pinned=generation)

    async def activate(self, generation: str) -> None:
        await self._run(self._shared.activate, generation)

    async def drop_generation(self, generation: str) -> None:
        await self._run(self._shared.drop, generation)

    async def generations(self) -> list[str]:
        return await self._run(self._shared.names)

    async def active_generation(self) -> str | None:
        return await self._run(self._shared.read_active)

    async def close(self) -> None:
        if self._pinned is None:  # views made by writer_for share the root's handles
            await asyncio.to_thread(self._shared.close)


def _lower_priority() -> None:
    """Lower this thread's CPU priority (Linux schedules threads one by one; best effort)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SEARCH_NICENESS)


class _Shared:
    """The generations of one root, shared by a backend and the views ``writer_for`` returns."""

    def __init__(self, root: Path, read_threads: int) -> None:
        self.root = root
        self.read_threads = read_threads
        self._open: dict[str, _Generation] = {}
        self._lock = threading.Lock()
        self._readers: ThreadPoolExecutor | None = None

    def readers(self) -> ThreadPoolExecutor:
        """The pool searches run in (made on first use)."""
        with self._lock:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(
                    self.read_threads,
                    thread_name_prefix="tantivy-search",
                    initializer=_lower_priority,
                )
            return self._readers

    def read_active(self) -> str | None:
        try:
            name = (self.root / ACTIVE_FILE).read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def exists(self, name: str) -> bool:
        return name in self._open or (self.root / name / "meta.json").exists()

    def names(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and p.name.startswith("g-"))

    def open(self, name: str) -> _Generation:
        with self._lock:
            # forget generations another process dropped (after a reindex switched readers)
            for other, cached in list(self._open.items()):
                if other != name and not cached.path.exists():
                    del self._open[other]
            generation = self._open.get(name)
            if generation is None:
                path = self.root / name
                if not (path / "meta.json").exists():
                    raise BackendError(f"search index generation {name!r} is missing")
                generation = self._open[name] = _Generation(path)
            return generation

    def create(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"g-{time.time_ns():020d}-{secrets.token_hex(3)}"
        path = self.root / name
        path.mkdir()
        with self._lock:
            self._open[name] = _Generation(path, fresh=True)
        return name

    def create_and_activate_first(self) -> str:
        with self._lock:
            active = self.read_active()
        if active is not None:
            return active
        name = self.create()
        self.activate(name)
        return name

    def activate(self, name: str) -> None:
        if not self.exists(name):
            raise BackendError(f"no generation {name!r}")
        tmp = self.root / f".{ACTIVE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "w") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / ACTIVE_FILE)
        with self._lock:
            generation = self._open.get(name)
        if generation is not None:  # readers and the default writer use it now: no bulk loads
            generation.end_bulk()
        with contextlib.suppress(OSError):
            fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def drop(self, name: str) -> None:
        if name == self.read_active():
            raise BackendError(f"cannot drop the active generation {name!r}")
        with self._lock:
            generation = self._open.pop(name, None)
        if generation is not None:
            generation.close()
        shutil.rmtree(self.root / name, ignore_errors=True)

    def release_writers(self) -> None:
        """Drop every writer (and its lock); the open indexes stay readable."""
        with self._lock:
            generations = list(self._open.values())
        for generation in generations:
            generation.release_writer()

    def close(self) -> None:
        with self._lock:
            generations = list(self._open.values())
            self._open.clear()
            readers, self._readers = self._readers, None
        if readers is not None:
            readers.shutdown(wait=False, cancel_futures=True)
        for generation in generations:
            generation.close()
