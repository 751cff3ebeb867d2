"""Prometheus metrics of a sync indexer, read from :meth:`indexers.sync.Indexer.health`.

Collected at scrape time from the indexer's in-memory state (no database round trip), by
whichever process runs the indexer: ``customers serve`` adds the collector to the API's
registry, a separate ``customers index --metrics-port`` serves its own. Every series has an
``index`` label (the state document's name, ``ELASTICSEARCH_INDEX``).

Gauges: ``customers_indexer_active`` (1 while this process holds the lease),
``customers_indexer_caught_up``, ``customers_indexer_lag_seconds`` (age of the oldest change
not yet applied; absent while standby), ``customers_indexer_pending_events`` (read from the
change stream, not yet applied), ``customers_indexer_checkpoint_age_seconds`` (since the resume
token was last saved), ``customers_indexer_reindex_running`` and, while a reindex copies,
``customers_indexer_reindex_copied_documents`` / ``customers_indexer_reindex_total_documents``.
Counters since the process started: ``customers_indexer_applied_total`` (ops sent to the
backend), ``customers_indexer_dead_letters_total``, ``customers_indexer_retries_total``,
``customers_indexer_reindexes_total``, ``customers_indexer_history_lost_total``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from indexers.sync import Indexer

__all__ = ["IndexerCollector"]

_COUNTERS = (
    ("applied", "Index operations (upserts and deletes) sent to the search backend."),
    ("dead_letters", "Documents the backend rejected for good (see indexer_dead_letters)."),
    ("retries", "Backend calls that failed and were retried."),
    ("reindexes", "Full reindexes completed."),
    ("history_lost", "Times the change-stream position was lost (each starts a full reindex)."),
)


class IndexerCollector(Collector):
    """Expose one :class:`~indexers.sync.Indexer`'s health as Prometheus metrics."""

    def __init__(self, indexer: Indexer) -> None:
        self.indexer = indexer

    def _gauge(self, name: str, doc: str, value: float) -> GaugeMetricFamily:
        family = GaugeMetricFamily(f"customers_indexer_{name}", doc, labels=["index"])
        family.add_metric([self.indexer.name], value)
        return family

    def collect(self) -> Iterator[Metric]:
        health = self.indexer.health()
        yield self._gauge("active", "1 while this process holds the index lease.", health.active)
        yield self._gauge(
            "caught_up", "1 when the last read found the end of the stream.", health.caught_up
        )
        if health.lag_seconds is not None:
            yield self._gauge(
                "lag_seconds",
                "Age of the oldest change not yet applied to the index (0 when caught up).",
                health.lag_seconds,
            )
        yield self._gauge(
            "pending_events",
            "Change events read from the stream and not yet applied.",
            health.pending_events,
        )
        if health.checkpoint_age_seconds is not None:
            yield self._gauge(
                "checkpoint_age_seconds",
                "Seconds since the resume token was last saved.",
                health.checkpoint_age_seconds,
            )
        running = health.reindex_total is not None
        yield self._gauge("reindex_running", "1 while a full reindex copies.", running)
        if running:
            yield self._gauge(
                "reindex_copied_documents",
                "Documents copied so far by the running reindex.",
                health.reindex_copied or 0,
            )
            yield self._gauge(
                "reindex_total_documents",
                "Documents the running reindex expects to copy (estimated up front).",
                health.reindex_total or 0,
            )
        stats = health.stats.as_dict()
        for name, doc in _COUNTERS:
            family = CounterMetricFamily(f"customers_indexer_{name}", doc, labels=["index"])
            family.add_metric([self.indexer.name], stats[name])
            yield family

    def describe(self) -> Iterator[Metric]:
        """Nothing up front: the series present depend on the state (see :meth:`collect`)."""
        return iter(())
