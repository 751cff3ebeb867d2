"""The service's privacy methods: one customer's data export, erasure, and retention purges.

An erasure answers only once the search index no longer holds the erased customers (it waits
for the indexer as a read-your-writes read does, up to :data:`ERASE_INDEX_TIMEOUT`): a list
or search right after it cannot find them. The index could still be behind then (no indexer
running); the result says so, and the receipts keep the index from ever taking them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.errors import NotFound, quote
from app.service import erasure
from app.service.arguments import id_list
from app.service.data_export import data_export
from app.service.erasure import Progress, Purge, Receipt
from app.service.methods.base import Ids, ServiceBase

__all__ = ["ERASE_INDEX_TIMEOUT", "ErasureResult", "PrivacyMethods"]

ERASE_INDEX_TIMEOUT = 10.0  # seconds an erasure waits for the search index to drop the customers


@dataclass(frozen=True, slots=True)
class ErasureResult:
    """What :meth:`PrivacyMethods.erase_customers` did.

    ``index_synced``: the search index no longer holds them (True), could not confirm it in
    time (False: it drops them when its indexer catches up), or none is attached (None).
    """

    receipts: list[Receipt]
    erased: list[str]
    index_synced: bool | None


class PrivacyMethods(ServiceBase):
    """One customer's data, erasure, retention."""

    async def export_customer_data(self, customer_id: str) -> dict[str, Any]:
        """Everything stored about one customer, live or soft-deleted, as one JSON-able
        document (see :mod:`app.service.data_export`); ``not_found`` for an unknown id."""
        (checked,) = id_list(customer_id)
        doc = await self._store.customers.find_one({"_id": checked})
        if doc is None:
            raise NotFound(f"Customer with id: {quote(checked)} not found")
        return await data_export(self._store, doc)

    async def erase_customers(self, ids: Ids, *, actor: str | None) -> ErasureResult:
        """Erase customers for good (see :mod:`app.service.erasure`), recording ``actor`` as
        who did it; idempotent: an erased id answers its receipt, an unknown one is
        ``not_found``."""
        done = await erasure.erase(self._store, id_list(ids), by=actor)
        return ErasureResult(done.receipts, done.erased, await self._index_synced())

    async def purge_customers(
        self,
        deleted_before: datetime,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
        actor: str | None = "purge",
    ) -> Purge:
        """Erase every customer soft-deleted before ``deleted_before`` (retention), in batches;
        ``dry_run`` only counts them. ``progress(done, total)`` follows it."""
        purged = await erasure.purge(
            self._store, deleted_before, dry_run=dry_run, by=actor, progress=progress
        )
        if purged.erased:
            await self._index_synced()
        return purged

    async def _index_synced(self) -> bool | None:
        """Wait until the attached index holds every write made so far (None: no index)."""
        if self.index is None:
            return None
        return await self.index.wait_until_applied(ERASE_INDEX_TIMEOUT)
