"""The service's duplicate detection: one customer's duplicates, and a scan of the whole base.

Both score with :mod:`app.duplicates`; they differ in how they find candidates. One customer's
come from the search index (its email exactly, each phone's key as ``q`` digits, its name in
the ranked lookup, which tolerates typos and swapped names), at most 50 per query, so a lookup
stays fast at any size. The scan reads every live customer once and blocks them by key in
memory (one index query per customer and key would take far longer), then scores in a worker
thread so the event loop keeps serving requests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.dto import CustomerDTO
from app.duplicates import (
    PROJECTION,
    Cluster,
    DetectionOptions,
    Profile,
    cluster_pairs,
    profile_of,
    score_candidates,
    scored_pairs,
)
from app.entities import CUSTOMER
from app.errors import InvalidData, NotFound, quote
from app.filtering import And, compile_filters
from app.input_checks import check_storable
from app.limits import MAX_ID_CHARS
from app.service import queries
from app.service.admission import max_time_ms
from app.service.findconfig import parse_config
from app.service.methods.base import Config
from app.service.methods.customers import CustomerMethods
from app.textsearch import check_q

__all__ = ["MAX_DUPLICATES", "CustomerDuplicate", "DuplicateMethods", "ScanProgress"]

ScanProgress = Callable[[int, int], Awaitable[None]]
"""Awaited with ``(done, total)`` as a scan goes: reading the customers is the first half of
``total``, comparing them the second."""

MAX_DUPLICATES = 100  # most duplicates one lookup answers
CANDIDATES_PER_QUERY = 50  # hits each blocking query of a lookup may add
_READ_BATCH = 2000  # customers per MongoDB batch of a scan
_REPORT_SECONDS = 0.5  # how often a scan's comparing phase reports progress
_LIVE = {"deleted_at": None}
_BY_ID = (("id", 1),)
_EVERYONE = And(())
_NAME_WORDS = 8  # words of a stored name a lookup searches


class _Stopped(Exception):
    """Ends a scan's comparing thread early (its caller stopped waiting)."""


@dataclass(frozen=True, slots=True)
class CustomerDuplicate:
    """A likely duplicate of a customer: the other customer, the pair's score, why."""

    customer: CustomerDTO
    score: float
    reasons: tuple[str, ...]


def _min_score(value: float | None, default: float) -> float:
    if value is None:
        return default
    raw: object = value  # callers of the Python API may pass anything
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 1:
        raise InvalidData("Invalid request: Field 'min_score' must be a number from 0 to 1")
    return float(raw)


def _profiles(docs: list[dict[str, Any]], options: DetectionOptions) -> list[Profile]:
    return [profile_of(doc, options) for doc in docs]


class DuplicateMethods(CustomerMethods):
    """Duplicates: ``find_duplicates`` for one customer, ``scan_duplicates`` for all."""

    detection: DetectionOptions = DetectionOptions()
    """How values are normalised (set from the settings by the bootstrap)."""
    min_score: float = 0.6
    """The default threshold (``CUSTOMERS_DUPLICATES_MIN_SCORE``)."""

    def configure_duplicates(self, options: DetectionOptions, *, min_score: float) -> None:
        """Set how values are normalised and the default threshold (from the settings)."""
        self.detection = options
        self.min_score = min_score

    async def find_duplicates(
        self,
        customer_id: str,
        *,
        min_score: float | None = None,
        limit: int = 20,
        config: Config = None,
    ) -> list[CustomerDuplicate]:
        """The live customers that are likely the same person as ``customer_id``, best first.

        ``min_score`` defaults to the configured threshold; ``limit`` is at most
        :data:`MAX_DUPLICATES`; ``config`` (``select``, ``relations``) shapes the customers.
        ``not_found`` for an unknown or deleted customer.
        """
        threshold = _min_score(min_score, self.min_score)
        if not 1 <= limit <= MAX_DUPLICATES:
            raise InvalidData(f"Invalid request: Field 'limit' must be 1 to {MAX_DUPLICATES}")
        cfg = parse_config(config, CUSTOMER)
        profile = await self._profile(customer_id)
        ids = await self._candidate_ids(profile)
        ids.discard(profile.id)
        docs = await self._live_docs(sorted(ids))
        others = [profile_of(doc, self.detection) for doc in docs]
        kept = score_candidates(profile, others, min_score=threshold)[:limit]
        loaded = await queries.load_customers(self._store, [o.id for o, _ in kept], cfg)
        by_id = {customer.id: customer for customer in loaded}
        return [
            CustomerDuplicate(by_id[other.id], match.score, match.reasons)
            for other, match in kept
            if other.id in by_id
        ]

    async def _profile(self, customer_id: str) -> Profile:
        raw: object = customer_id
        if not isinstance(raw, str) or len(raw) > MAX_ID_CHARS:
            raise InvalidData("Invalid request: Field 'id' must be an id")
        doc = await self._store.customers.find_one({"_id": customer_id, **_LIVE}, PROJECTION)
        if doc is None:
            raise NotFound(f"Customer with id: {quote(customer_id)} not found")
        return profile_of(doc, self.detection)

    async def _live_docs(self, ids: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        found = self._store.customers.find(
            {"_id": {"$in": ids}, **_LIVE}, PROJECTION, max_time_ms=max_time_ms()
        )
        return await found.to_list()

    async def _candidate_ids(self, profile: Profile) -> set[str]:
        """Blocking for one customer: the ids the search index finds by each of its keys.

        The searches run at once, in one admission slot of the search gate (one lookup is one
        search, however many queries it makes).
        """

        async def gather() -> list[list[str]]:
            searches = []
            emails = {e for e in (profile.email, profile.stored_email) if e is not None}
            searches += [self._listed({"email": email}) for email in sorted(emails)]
            searches += [self._listed({"q": phone}) for phone in sorted(profile.phones)]
            if profile.name:
                searches.append(self._ranked(profile.name))
            return list(await asyncio.gather(*searches))

        found = await self.gate.search(gather)
        return {customer_id for ids in found for customer_id in ids}

    async def _listed(self, filters: dict[str, Any]) -> list[str]:
        """Ids of a customer list: from the index, or MongoDB when it cannot answer."""
        where = compile_filters(filters, CUSTOMER)
        if self.index is not None:
            served = await self.index.list_customers(
                where, skip=0, take=CANDIDATES_PER_QUERY, order=_BY_ID, with_deleted=False
            )
            if served is not None:
                return [customer.id for customer in served[0]]
        cfg = parse_config({"take": CANDIDATES_PER_QUERY, "select": ["id"]}, CUSTOMER)
        found, _ = await self._find_customers(where, cfg, False)
        return [customer.id for customer in found]

    async def _ranked(self, name: str) -> list[str]:
        """Ids of the ranked lookup's best hits for a name (typos, either order, accents);
        MongoDB's literal ``q`` matches when the index cannot answer."""
        q = " ".join(name.split()[:_NAME_WORDS])
        try:
            check_q(q)
            check_storable(q, "q")
        except InvalidData:  # a stored value no search accepts (from before the input checks)
            return []
        if self.index is not None:
            served = await self.index.search_customers(
                q, _EVERYONE, CANDIDATES_PER_QUERY, with_deleted=False
            )
            if served is not None:
                return [hit.id for hit in served[0]]
        cfg = parse_config({"take": CANDIDATES_PER_QUERY, "select": ["id"]}, CUSTOMER)
        hits, _ = await self._rank(q, compile_filters(None, CUSTOMER), cfg)
        return [hit.customer.id for hit in hits]

    async def scan_duplicates(
        self, *, min_score: float | None = None, progress: ScanProgress | None = None
    ) -> list[Cluster]:
        """Every cluster of duplicates among the live customers, highest score first.

        ``progress`` may raise (a cancelled job): the comparing stops at its next report and
        the exception reaches the caller.
        """
        threshold = _min_score(min_score, self.min_score)
        estimate = await self._store.customers.estimated_document_count()
        profiles = await self._read_profiles(estimate, progress)
        total = len(profiles)
        done, stopped = 0, False

        def compared(count: int) -> None:
            nonlocal done
            if stopped:
                raise _Stopped
            done = count

        work = asyncio.ensure_future(
            asyncio.to_thread(scored_pairs, profiles, min_score=threshold, progress=compared)
        )
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=_REPORT_SECONDS)
                if progress is not None:
                    await progress(total + done, 2 * total)
        except BaseException:
            stopped = True  # the worker thread ends at its next report
            with contextlib.suppress(BaseException):
                await asyncio.shield(work)
            raise
        return cluster_pairs(work.result(), threshold)

    async def _read_profiles(self, total: int, progress: ScanProgress | None) -> list[Profile]:
        """Every live customer's profile: each batch is profiled in a worker thread while the
        database reads the next one."""
        profiles: list[Profile] = []
        options = self.detection
        cursor = self._store.customers.find(_LIVE, PROJECTION, batch_size=_READ_BATCH)
        building: asyncio.Future[list[Profile]] | None = None
        while True:
            batch = await cursor.to_list(_READ_BATCH)
            if building is not None:
                profiles += await building
                if progress is not None:
                    await progress(len(profiles), 2 * max(total, len(profiles)))
            if not batch:
                return profiles
            building = asyncio.ensure_future(asyncio.to_thread(_profiles, batch, options))
