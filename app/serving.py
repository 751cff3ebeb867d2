"""The HTTP server of ``customers serve``: waitress, bound first, stopped cleanly.

Waitress's ``serve()`` binds, prints and runs in one call and stops by unwinding on
``SystemExit``, which drops the responses of requests still in flight. So the steps are taken
one by one here, on waitress's own pieces (``create_server`` and its socket map):

1. :class:`HttpServer` binds the port when it is built, before the database starts: a port in
   use is one clear :class:`BindError`, and nothing claims to listen before it really does.
   Connections that arrive before the app is ready wait in the listen backlog.
2. :meth:`HttpServer.serve` runs waitress's I/O loop in this (the main) thread until
   :meth:`HttpServer.request_stop` (a signal: :func:`handle_signals`).
3. Draining: the listening sockets are closed (new connections are refused), idle keep-alive
   connections are closed, and the requests in flight get until ``shutdown_timeout`` to
   finish; their responses are still written by this loop.
4. At the deadline the requests still running on the service's event loop are cancelled (they
   answer 503, see :func:`app.runtime.cancel_requests`), get :data:`CANCEL_GRACE` seconds for
   those answers to be written, and every connection is closed.

Waitress hands parsed requests to its worker threads first come, first served. Under a flood of
searches (even refused ones) that queue is never empty, so :class:`ProbesFirst` puts the cheap
probes (:data:`PROBES`: liveness, readiness, metrics) at its front, and stamps every request with
the time it was received (:data:`RECEIVED_ENVIRON`), so that a search's time budget also counts
the time it waited for a thread.

A second signal exits at once (``os._exit``): nothing more is waited for.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ThreadedTaskDispatcher

__all__ = [
    "CANCEL_GRACE",
    "PROBES",
    "RECEIVED_ENVIRON",
    "BindError",
    "HttpServer",
    "ProbesFirst",
    "StopRequest",
    "handle_signals",
]

log = logging.getLogger("customers.serve")

POLL_SECONDS = 0.1  # how often the I/O loop looks at the stop request
CANCEL_GRACE = 2.0  # seconds cancelled requests get to write their 503
EXIT_AT_ONCE = 1  # exit status after a second signal

PROBES = frozenset({"/health", "/health/ready", "/metrics"})  # served before queued requests
# time.monotonic() when the request was received, as a header waitress passes on to the WSGI
# environ; set for every request (a client's own header of that name is overwritten).
_RECEIVED_HEADER = "X_CUSTOMERS_RECEIVED"
RECEIVED_ENVIRON = f"HTTP_{_RECEIVED_HEADER}"

_BIND_ERRORS = {
    errno.EADDRINUSE: "the address is already in use (is another server running? try --port)",
    errno.EACCES: "permission denied (ports below 1024 need privileges; try --port)",
    errno.EADDRNOTAVAIL: "this machine has no such address (check --host)",
}


class BindError(Exception):
    """The server cannot listen where it was asked to (one line for the user)."""


class StopRequest:
    """Whether (and why) the server must stop; set from a signal handler or another thread."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.status = 0  # the exit status the process should end with
        self.reason = ""

    def request(self, reason: str, status: int = 0) -> None:
        """Ask for a clean stop (the first request's reason and status win)."""
        if not self._event.is_set():
            self.reason, self.status = reason, status
            self._event.set()

    def is_set(self) -> bool:
        """Whether a stop was requested."""
        return self._event.is_set()


@contextlib.contextmanager
def handle_signals(stop: StopRequest) -> Iterator[None]:
    """Turn the first SIGTERM/SIGINT into ``stop.request``; a second one exits at once."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            os.write(2, b"customers: second signal: exiting at once\n")
            os._exit(EXIT_AT_ONCE)
        stop.request(f"received {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Gate:
    """The WSGI app waitress calls: the real app, once it is ready."""

    def __init__(self) -> None:
        self.app: Callable[..., Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None, "requests are read only once the app is set"
        return self.app(environ, start_response)


class ProbesFirst(ThreadedTaskDispatcher):
    """Waitress's task queue, with the probes first and every request stamped on arrival."""

    def add_task(self, task: Any) -> None:
        request = getattr(task, "request", None)
        if request is None:
            super().add_task(task)
            return
        request.headers[_RECEIVED_HEADER] = repr(time.monotonic())
        if request.path not in PROBES:
            super().add_task(task)
            return
        with self.lock:  # as super().add_task, at the other end of the queue
            self.queue.appendleft(task)
            self.queue_cv.notify()


class HttpServer:
    """Waitress bound to ``host:port`` (at once), serving an app until asked to stop.

    :raise BindError: the port is taken, privileged, or the host is not ours.
    """

    def __init__(self, host: str, port: int, *, threads: int) -> None:
        self._gate = _Gate()
        self._map: dict[int, Any] = {}
        dispatcher = ProbesFirst()
        try:
            self._server = create_server(
                self._gate,
                map=self._map,
                _dispatcher=dispatcher,
                host=host,
                port=port,
                threads=threads,
                ident="customers",
            )
        except OSError as exc:
            reason = _BIND_ERRORS.get(exc.errno or 0, exc.strerror or str(exc))
            raise BindError(f"cannot listen on {host}:{port}: {reason}") from None
        except ValueError as exc:
            raise BindError(f"cannot listen on {host}:{port}: {exc}") from None
        dispatcher.set_thread_count(threads)  # waitress does this only for its own dispatcher

    def __enter__(self) -> HttpServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The (host, port) pairs listened on (the real port when 0 was asked for)."""
        return [
            # set by waitress when it binds; its stubs do not declare them
            (s.effective_host, int(s.effective_port))  # type: ignore[attr-defined]
            for s in self._listeners()
        ]

    def serve(
        self,
        app: Callable[..., Any],
        stop: StopRequest,
        *,
        shutdown_timeout: float,
        cancel: Callable[[], int],
    ) -> None:
        """Serve ``app`` until ``stop`` is requested, then drain (see the module docstring).

        :param cancel: cancels the requests still running (called once, at the deadline);
            returns how many it cancelled.
        """
        self._gate.app = app
        while not stop.is_set():
            self._poll()
        log.info("stopping: %s", stop.reason)
        self._stop_listening()
        if not self._drain(time.monotonic() + shutdown_timeout):
            cancelled = cancel()
            log.warning(
                "%d request(s) still running after %.1fs: cancelled (503)",
                cancelled,
                shutdown_timeout,
            )
            self._drain(time.monotonic() + CANCEL_GRACE)
        self.close()

    def close(self) -> None:
        """Close every socket and stop the worker threads (idempotent)."""
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=math.ceil(CANCEL_GRACE))
        wasyncore.close_all(self._map)

    # --- steps ------------------------------------------------------------------------------

    def _poll(self) -> None:
        wasyncore.loop(
            timeout=POLL_SECONDS,
            map=self._map,
            use_poll=self._server.adj.asyncore_use_poll,
            count=1,
        )

    def _listeners(self) -> list[BaseWSGIServer]:
        return [d for d in self._map.values() if isinstance(d, BaseWSGIServer)]

    def _channels(self) -> list[HTTPChannel]:
        return [d for d in self._map.values() if isinstance(d, HTTPChannel)]

    def _stop_listening(self) -> None:
        """Close the listening sockets only: their wake-up triggers serve the open channels."""
        for listener in self._listeners():
            wasyncore.dispatcher.close(listener)

    def _drain(self, deadline: float) -> bool:
        """Serve the open connections until none is left or ``deadline``; True if none is."""
        while True:
            busy = False
            for channel in self._channels():
                if _busy(channel):
                    busy = True
                else:
                    channel.will_close = True  # idle keep-alive: closed on the next poll
            if not self._channels():
                return True
            if time.monotonic() >= deadline:
                return not busy
            self._poll()


def _busy(channel: HTTPChannel) -> bool:
    """A request is being received, queued, run, or its response is not yet written."""
    return bool(channel.requests or channel.total_outbufs_len or channel.request is not None)
