"""Fixtures for the search-index tests: one engine factory per backend, and raw customers.

The Elasticsearch variants need a real server: they run when ELASTICSEARCH_URL is set (e.g.
``docker compose up -d elasticsearch`` then ``ELASTICSEARCH_URL=http://localhost:9200 pytest
-m elasticsearch tests/indexers``) and are skipped otherwise. Nothing here fakes Elasticsearch.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from indexers.backends.base import SearchBackend, Upsert
from indexers.documents import to_search_doc

ES_URL = os.environ.get("ELASTICSEARCH_URL")
NO_ES = (
    "ELASTICSEARCH_URL is not set and this machine has no Elasticsearch; run "
    "`docker compose up -d elasticsearch` and set ELASTICSEARCH_URL=http://localhost:9200"
)
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)

Body = Callable[[SearchBackend], Awaitable[None]]


class Engine:
    """Opens a fresh backend of one engine inside the running loop, and cleans it up."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        self.name = name
        self.tmp_path = tmp_path
        self.prefix = f"test-{uuid.uuid4().hex[:10]}"

    def open(self) -> SearchBackend:
        if self.name == "embedded":
            from indexers.backends.embedded import EmbeddedBackend

            return EmbeddedBackend(self.tmp_path / "search")
        from indexers.backends.elastic import ElasticBackend

        return ElasticBackend(ES_URL, prefix=self.prefix)

    async def cleanup(self, backend: SearchBackend) -> None:
        if self.name == "elastic":
            # exact names: wildcard deletes are refused (action.destructive_requires_name)
            client = backend.client  # type: ignore[attr-defined]
            for name in await backend.generations():
                await client.options(ignore_status=404).indices.delete(index=name)

    def run(self, body: Body) -> None:
        """Run ``body(backend)`` on a new event loop with a fresh, empty backend."""

        async def go() -> None:
            backend = self.open()
            try:
                await body(backend)
            finally:
                try:
                    await self.cleanup(backend)
                finally:
                    await backend.close()

        asyncio.run(go())


@pytest.fixture(
    params=[
        "embedded",
        pytest.param(
            "elastic",
            marks=[pytest.mark.elasticsearch, pytest.mark.skipif(not ES_URL, reason=NO_ES)],
        ),
    ]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """A search engine to run the backend contract against."""
    return Engine(request.param, tmp_path)


def customer(n: int, **fields: Any) -> dict[str, Any]:
    """Return a raw ``customers`` document (the MongoDB shape) numbered ``n``."""
    doc: dict[str, Any] = {
        "_id": f"cus_{n:06d}",
        "email": None,
        "first_name": None,
        "last_name": None,
        "company_name": None,
        "phone": None,
        "phone_digits": None,
        "has_account": False,
        "created_by": None,
        "metadata": None,
        "created_at": BASE_TIME + timedelta(minutes=n),
        "updated_at": BASE_TIME + timedelta(minutes=n),
        "deleted_at": None,
        "version": 1,
        "addresses": [],
        "groups": [],
    }
    doc.update(fields)
    return doc


def upserts(rows: list[dict[str, Any]], version: int = 1) -> list[Upsert]:
    """Return one Upsert per raw customer, all at ``version``."""
    return [Upsert(to_search_doc(row, version)) for row in rows]
