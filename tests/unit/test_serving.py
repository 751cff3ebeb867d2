"""The HTTP server's task queue: probes first, every request stamped on arrival (no threads)."""

from __future__ import annotations

import time

from waitress.adjustments import Adjustments
from waitress.parser import HTTPRequestParser
from waitress.task import WSGITask

from app.serving import RECEIVED_ENVIRON, ProbesFirst


def _task(path: str, *headers: str) -> WSGITask:
    """A request as waitress parses it, wrapped in the task its dispatcher gets."""
    raw = "\r\n".join([f"GET {path} HTTP/1.1", "Host: x", *headers, "", ""]).encode()
    request = HTTPRequestParser(Adjustments())
    request.received(raw)
    assert request.completed
    return WSGITask(None, request)  # type: ignore[arg-type]  # no channel: never run here


def test_probes_jump_the_queue_and_everything_else_keeps_its_order() -> None:
    dispatcher = ProbesFirst()  # no worker threads: tasks stay queued for inspection
    for path in ("/admin/customers?q=a", "/admin/customers/search?q=b", "/health", "/store/x"):
        dispatcher.add_task(_task(path))
    dispatcher.add_task(_task("/health/ready"))
    # waitress's stubs type a task's request as its parse error; it is the parsed request
    order = [task.request.path for task in dispatcher.queue]  # type: ignore[attr-defined]
    assert order == [
        "/health/ready",
        "/health",
        "/admin/customers",
        "/admin/customers/search",
        "/store/x",
    ]


def test_every_request_is_stamped_with_its_arrival_and_a_client_cannot_choose_it() -> None:
    dispatcher = ProbesFirst()
    before = time.monotonic()
    task = _task("/admin/customers", "X-Customers-Received: 0")
    dispatcher.add_task(task)
    # waitress passes header X_Y on as the environ's HTTP_X_Y
    headers = task.request.headers  # type: ignore[attr-defined]  # (see above)
    received = float(headers[RECEIVED_ENVIRON.removeprefix("HTTP_")])
    assert before <= received <= time.monotonic()
