"""``GET /metrics``: admin only, requests by route template, and the METRICS_PORT listener."""

from __future__ import annotations

import socket
import urllib.error

import pytest

from app.metrics import registry_of, start_metrics_server
from tests.indexers.sync_support import free_port
from tests.ops.conftest import admin_headers, samples, scrape_url


def _requests(scraped, method: str, route: str, status: str) -> float:
    key = (("method", method), ("route", route), ("status", status))
    return scraped.get(("customers_http_requests_total", key), 0.0)


def test_metrics_need_admin_auth_and_label_requests_by_route_template(make_app) -> None:
    app, _ = make_app()
    client = app.test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.json == {"message": "Unauthorized"}

    for _ in range(2):
        assert (
            client.get("/admin/customers/cus_SECRET123", headers=admin_headers()).status_code == 404
        )
    assert client.get("/no/such/path/cus_OTHER456").status_code == 404
    assert client.open("/health", method="BREW").status_code == 405

    response = client.get("/metrics", headers=admin_headers())
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    text = response.get_data(as_text=True)
    scraped = samples(text)
    assert _requests(scraped, "GET", "/admin/customers/<customer_id>", "404") == 2.0
    assert _requests(scraped, "GET", "unmatched", "404") == 1.0
    assert _requests(scraped, "other", "unmatched", "405") == 1.0  # methods are bounded too
    assert "cus_SECRET123" not in text and "cus_OTHER456" not in text  # no raw paths
    buckets = [
        labels
        for (name, labels) in scraped
        if name == "customers_http_request_duration_seconds_bucket"
        and ("route", "/admin/customers/<customer_id>") in labels
    ]
    assert buckets
    for name in ("customers_database_errors", "process_cpu_seconds", "python_gc_objects_collected"):
        assert f"# TYPE {name}_total counter" in text


def test_metrics_port_serves_the_registry_without_auth(make_app) -> None:
    app, _ = make_app()
    app.test_client().get("/health")
    port = free_port()
    stop = start_metrics_server(registry_of(app), port)
    try:
        scraped = samples(scrape_url(f"http://127.0.0.1:{port}/metrics"))
        assert _requests(scraped, "GET", "/health", "200") == 1.0
    finally:
        stop()
    with pytest.raises(urllib.error.URLError):
        scrape_url(f"http://127.0.0.1:{port}/metrics")


def test_a_metrics_port_in_use_is_one_clear_error(make_app) -> None:
    app, _ = make_app()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RuntimeError) as error:
            start_metrics_server(registry_of(app), port)
    assert str(error.value) == (
        f"cannot serve metrics on 127.0.0.1:{port} (METRICS_PORT / --metrics-port): "
        "Address already in use"
    )
