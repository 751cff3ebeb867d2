"""Elasticsearch generations: indices behind a read and a write alias.

Generations are indices ``<prefix>_g<ns>`` behind two aliases: ``<prefix>-read`` (searches)
and ``<prefix>-write`` (the sync indexer's target, ``is_write_index``). ``activate`` moves both
in one atomic ``_aliases`` request.
"""

from __future__ import annotations

import time
from typing import Any

from indexers.backends.base import BackendError
from indexers.backends.elastic.mapping import MAPPINGS, SETTINGS
from indexers.backends.elastic.retry import call

__all__ = ["Generations"]


class Generations:
    """The generations of one prefix, and which one the aliases point at."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.read_alias = f"{prefix}-read"
        self.write_alias = f"{prefix}-write"

    async def create(self) -> str:
        name = f"{self.prefix}_g{time.time_ns():020d}"
        await call(
            lambda: self.client.indices.create(index=name, settings=SETTINGS, mappings=MAPPINGS),
            what="create index",
        )
        return name

    async def aliased(self, alias: str) -> list[str]:
        from elasticsearch import NotFoundError

        try:
            response = await call(
                lambda: self.client.indices.get_alias(name=alias), what="get alias"
            )
        except NotFoundError:
            return []
        return sorted(response.body)

    async def activate(self, generation: str) -> None:
        actions: list[dict[str, Any]] = []
        for alias in (self.read_alias, self.write_alias):
            for index in await self.aliased(alias):
                if index != generation:
                    actions.append({"remove": {"index": index, "alias": alias}})
        actions.append({"add": {"index": generation, "alias": self.read_alias}})
        actions.append(
            {"add": {"index": generation, "alias": self.write_alias, "is_write_index": True}}
        )
        await call(lambda: self.client.indices.update_aliases(actions=actions), what="alias swap")

    async def drop(self, generation: str) -> None:
        from elasticsearch import NotFoundError

        if generation in await self.aliased(self.read_alias):
            raise BackendError(f"cannot drop the active generation {generation!r}")
        try:
            await call(lambda: self.client.indices.delete(index=generation), what="delete index")
        except NotFoundError:
            return

    async def names(self) -> list[str]:
        from elasticsearch import NotFoundError

        try:
            response = await call(
                lambda: self.client.indices.get(index=f"{self.prefix}_g*", allow_no_indices=True),
                what="list indices",
            )
        except NotFoundError:
            return []
        return sorted(response.body)

    async def fingerprints(self, target: str) -> dict[str, str | None]:
        """Return the fingerprint each index behind ``target`` (an alias or an index) was
        created with (None: created before indexes recorded one).

        :raise NotFoundError: no such index or alias.
        """
        response = await call(
            lambda: self.client.indices.get_mapping(index=target), what="get mapping"
        )
        return {
            name: ((body.get("mappings") or {}).get("_meta") or {}).get("schema")
            for name, body in response.body.items()
        }

    async def active(self) -> str | None:
        names = await self.aliased(self.read_alias)
        return names[0] if names else None
