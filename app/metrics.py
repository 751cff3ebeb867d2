"""Prometheus metrics of this process: HTTP requests, database errors, and added collectors.

Every process has its own registry (``customers serve``, a separate ``customers index``), so
each exposes what it does itself; nothing is aggregated across processes here (Prometheus
does that). :mod:`app.bootstrap` makes the registry of a runtime and adds the in-process sync
indexer's collector (:mod:`indexers.metrics`); the API adds its own metrics (:class:`ApiMetrics`).

- ``customers_http_requests_total{method, route, status}`` and
  ``customers_http_request_duration_seconds{method, route}``: ``route`` is the URL rule
  *template* (``/admin/customers/<customer_id>``), never the raw path, so ids, emails in paths
  or probing clients cannot grow the number of series; paths that match no route are
  ``route="unmatched"`` and unknown methods ``method="other"``.
- ``customers_database_errors_total{error}``: PyMongo errors that reached the API (by class).
- the standard ``process_*`` / ``python_*`` series.

Served at ``GET /metrics`` (admin auth) and, with ``METRICS_PORT``, on a listener of its own
without auth (:func:`start_metrics_server`), meant for a port only the scraper can reach.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    start_http_server,
)

__all__ = [
    "METRICS",
    "ApiMetrics",
    "count_database_error",
    "exposition",
    "init_app",
    "new_registry",
    "registry_of",
    "start_metrics_server",
]

METRICS = "customers.metrics"  # app.extensions key of the app's ApiMetrics

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)  # s
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of requests that match no URL rule


def new_registry() -> CollectorRegistry:
    """A registry of this process's own, with the standard process and Python collectors."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class ApiMetrics:
    """The API's metrics, on one registry (collectors of other packages join it)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or new_registry()
        self.requests = Counter(
            "customers_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "customers_http_request_duration_seconds",
            "Time from the start of a request to its response, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.database_errors = Counter(
            "customers_database_errors",
            "MongoDB driver errors that reached the API, by error class.",
            ["error"],
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        method = method if method in METHODS else "other"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _finish(response: Response) -> Response:
    metrics: ApiMetrics | None = current_app.extensions.get(METRICS)
    started = g.get("metrics_started")
    if metrics is not None and started is not None:
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        metrics.observe(request.method, route, response.status_code, time.perf_counter() - started)
    return response


def init_app(app: Flask, registry: CollectorRegistry) -> ApiMetrics:
    """Give ``app`` its metrics on ``registry`` and time every request (first hook in, so
    authentication is included)."""
    metrics = ApiMetrics(registry)
    app.extensions[METRICS] = metrics
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    return metrics


def count_database_error(error: BaseException) -> None:
    """Count a driver error that reached the API (called by the API's error handler)."""
    metrics: ApiMetrics | None = current_app.extensions.get(METRICS)
    if metrics is not None:
        metrics.database_errors.labels(type(error).__name__).inc()


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


def start_metrics_server(
    registry: CollectorRegistry, port: int | None, *, host: str = "127.0.0.1"
) -> Callable[[], None]:
    """Serve ``registry`` at ``http://host:port/metrics`` (no auth) in a daemon thread.

    Returns the function that stops the listener (a no-op when ``port`` is None).
    :raise RuntimeError: when the port cannot be bound (one clear line for the CLI).
    """
    if port is None:
        return lambda: None
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise RuntimeError(
            f"cannot serve metrics on {host}:{port} (METRICS_PORT / --metrics-port): "
            f"{exc.strerror or exc}"
        ) from None

    def stop() -> None:
        with contextlib.suppress(Exception):
            server.shutdown()
            server.server_close()
        thread.join(timeout=5)

    return stop


def registry_of(app: Flask) -> CollectorRegistry:
    """The registry of ``app``'s metrics."""
    metrics: ApiMetrics = app.extensions[METRICS]
    return metrics.registry
