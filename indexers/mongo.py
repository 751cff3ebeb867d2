"""Which MongoDB server the indexer reads, for the few choices that differ between them.

SecantusDB (the embedded server) evaluates pipeline stages and projections in Python, so on it
they cost more than they save; and it counts a collection 5x faster with ``count`` than with
``count_documents`` (3.2 s at 100,000 customers), exactly, since it holds the collection in
memory. MongoDB is the other way round on both counts.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

__all__ = ["ServerTraits"]


class ServerTraits:
    """Facts about the server behind ``database`` (asked once, then remembered)."""

    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self.database = database
        self._embedded: bool | None = None

    async def embedded(self) -> bool:
        """Whether the server is SecantusDB (its ``buildInfo`` names its version)."""
        if self._embedded is None:
            info = await self.database.client.admin.command("buildInfo")
            self._embedded = "secantusVersion" in info
        return self._embedded

    async def count(self, collection: AsyncCollection[Any]) -> int:
        """Count ``collection`` exactly (SecantusDB's plain ``count`` is exact; MongoDB's may
        drift after an unclean shutdown, so it gets ``count_documents``)."""
        if await self.embedded():
            return await collection.estimated_document_count()
        return await collection.count_documents({})
