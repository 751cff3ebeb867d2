"""Search backends: the contract (base) and two engines (embedded tantivy, Elasticsearch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexers.backends.base import (
    ApplyResult,
    BackendError,
    BackendUnavailable,
    Delete,
    DocumentRejected,
    IncompatibleIndex,
    SearchBackend,
    Upsert,
)

if TYPE_CHECKING:
    from app.config import Settings

__all__ = [
    "ApplyResult",
    "BackendError",
    "BackendUnavailable",
    "Delete",
    "DocumentRejected",
    "IncompatibleIndex",
    "SearchBackend",
    "Upsert",
    "open_backend",
]


def open_backend(settings: Settings) -> SearchBackend:
    """Open Elasticsearch if ``settings.elasticsearch_url`` is set, else tantivy in the data dir."""
    if settings.elasticsearch_url:
        from indexers.backends.elastic import ElasticBackend

        return ElasticBackend(
            settings.elasticsearch_url,
            prefix=settings.elasticsearch_index,
            search_timeout=settings.search_budget_seconds,
        )
    from indexers.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(settings.data_dir / "search", read_threads=settings.search_concurrency)
