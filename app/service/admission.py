"""Admission control and a time budget for searches, so hostile queries cannot take the process.

tantivy cannot cancel a running search and Python cannot kill a thread, so the *work* of one
search is bounded up front (input limits, expansion caps: see ``app.textsearch`` and
``indexers``); this module bounds how many run and how long a caller waits:

* **admission**: at most ``concurrency`` searches (index-served lists, ranked lookups, MongoDB
  ``q`` fallbacks) run at once; at most ``concurrency // 4`` more (at least one) wait, each for at
  most :data:`QUEUE_WAIT` seconds; the rest are refused at once. Refusing instead of queueing
  keeps the HTTP worker threads free: a search holds its WSGI thread while it runs or waits, so
  with ``serve``'s 8 threads and the default 4 + 1, three threads always remain for everything
  else (``/health`` among them), whatever number of clients send searches.
* **MongoDB scans**: of those, at most ``concurrency // 4`` (at least one) may be answered by
  MongoDB instead of the index (a ``q`` or ``$like`` list there scans every customer). A scan
  keeps MongoDB busy for the whole budget, and the index-served searches need MongoDB too
  (read-your-writes, hydrating the page): a few scans must not starve them. A scan keeps its
  slot until MongoDB has finished it, even when its caller stopped waiting at the budget (the
  embedded server honours ``maxTimeMS`` only between steps of a scan, which can take many
  seconds): otherwise abandoned scans would pile up in the database.
* **budget**: a search that runs longer than ``budget`` seconds is answered with
  :class:`~app.errors.Unavailable` naming the budget. The caller stops waiting, but the search
  is not cancelled: it keeps its slot until it ends, which is soon (its work was bounded up
  front, and every MongoDB list and count inside gets ``maxTimeMS`` = what is left of the
  budget, :func:`max_time_ms`, whose ``ExecutionTimeout`` becomes the same error). Cancelling
  would not stop a tantivy thread anyway, and an operation cancelled mid-flight costs its
  MongoDB connection: under load the next requests would queue to open new ones.

The budget counts from when the request arrived (:func:`note_arrival`, which the HTTP layer
calls with the time the server received it), so time spent queued for a worker thread or for
a slot is inside it, and the gate gives up :func:`response_margin` before the budget ends,
leaving that time to write the 503 on a busy server (measured: ~0.1 s under hostile load on two
cores): the client has its answer within the budget.

All refusals are ``unexpected_state`` (HTTP 503 with ``Retry-After``): nothing was changed and
the same request may succeed later.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo.errors import ExecutionTimeout

from app.errors import Unavailable

__all__ = [
    "QUEUE_WAIT",
    "SECANTUSDB_PAGE_LIMIT",
    "SECANTUSDB_SCAN_LIMIT",
    "SearchGate",
    "Slots",
    "forget_arrival",
    "max_time_ms",
    "note_arrival",
    "response_margin",
]

T = TypeVar("T")

QUEUE_WAIT = 0.1  # seconds a search waits for a free slot before it is refused
# SecantusDB (the embedded server) holds one storage lock while it reads a scan's candidates,
# blocking every other operation: 6.3 s for 100,000 customers, measured. So on it, what the
# search index cannot answer is scanned only up to this many customers (~0.6 s); beyond, 503.
SECANTUSDB_SCAN_LIMIT = 10_000
# A group's page (a ``groups`` filter alone, by id) is read along ``group_refs``: it costs what
# the group's members cost (100,000 customers, 500 per group: page + count 261 ms, load 6),
# so MongoDB answers it up to this many customers, beyond which 503. A page with no filter is a
# scan there (100,000: find 26 s, count 24 s, together 58 s): ``SECANTUSDB_SCAN_LIMIT``.
SECANTUSDB_PAGE_LIMIT = 200_000

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "customers_search_deadline", default=None
)


def response_margin(budget: float) -> float:
    """Seconds of ``budget`` kept for answering: 10 %, at most a quarter of a second."""
    return min(0.25, budget / 10)


_arrival: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "customers_request_arrival", default=None
)


def note_arrival(received: str | float | None) -> contextvars.Token[float | None]:
    """Count the budgets of this request's searches from ``received`` (``time.monotonic()``,
    the event loop's clock); missing, malformed or later than now means now.

    Returns the token for :func:`forget_arrival`, which the caller must call when the request
    ends: the value lives in the calling thread's context, which outlives the request.
    """
    now = time.monotonic()
    try:
        at = float(received) if received is not None else now
    except ValueError:
        at = now
    return _arrival.set(min(at, now) if math.isfinite(at) else now)


def forget_arrival(token: contextvars.Token[float | None]) -> None:
    """End what :func:`note_arrival` started (later work in this thread counts from its own
    start again)."""
    _arrival.reset(token)


def max_time_ms() -> int | None:
    """``maxTimeMS`` for a MongoDB call now: what is left of the running budget (None: none).

    :raise TimeoutError: when the budget is already spent (the gate answers ``Unavailable``).
    """
    deadline = _deadline.get()
    if deadline is None:
        return None
    left = deadline - asyncio.get_running_loop().time()
    if left <= 0:
        raise TimeoutError
    return max(1, math.ceil(left * 1000))


class Slots:
    """``size`` slots; a few callers may wait ``queue_wait`` seconds for one, the rest are
    refused at once with ``refusal`` (first come, first served: a freed slot goes to the
    longest waiter directly, so no newcomer can jump the queue).
    """

    def __init__(self, size: int, *, max_waiting: int, queue_wait: float, refusal: str) -> None:
        self.size = size
        self.max_waiting = max_waiting
        self.queue_wait = queue_wait
        self.refusal = refusal
        self._free = size
        self._waiters: list[asyncio.Future[None]] = []

    def __repr__(self) -> str:
        return f"<Slots busy={self.busy}/{self.size} waiting={len(self._waiters)}>"

    @property
    def busy(self) -> int:
        """Slots held now."""
        return self.size - self._free

    async def run_to_the_end(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` holding a slot (``Unavailable`` when none comes in time); a caller
        that stops waiting leaves it running, slot held, until it ends by itself."""
        await self.acquire()
        task = self.hold_until_done(_start(work))
        await asyncio.wait({task})  # a caller that leaves cancels the wait, not the task
        return task.result()

    def hold_until_done(self, task: asyncio.Task[T]) -> asyncio.Task[T]:
        """Release the slot this caller acquired once ``task`` is done, and return it."""
        task.add_done_callback(lambda _: self.release())
        return task

    async def acquire(self) -> None:
        """Take a slot, waiting at most ``queue_wait`` (``Unavailable`` otherwise)."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        if len(self._waiters) >= self.max_waiting:
            raise self._refused()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.queue_wait)
        except TimeoutError:
            if not waiter.done():
                self._waiters.remove(waiter)
                raise self._refused() from None
        except BaseException:
            if waiter.done():  # the slot was handed over as we were cancelled: pass it on
                self.release()
            else:
                self._waiters.remove(waiter)
            raise
        # the slot was handed to us by release (which did not give it back to _free)

    def release(self) -> None:
        """Give a slot back: to the longest waiter, else to the pool."""
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def _refused(self) -> Unavailable:
        return Unavailable(self.refusal, retry_after=1.0)


class SearchGate:
    """Admit searches and hold them to a time budget (one per service, shared by its calls).

    :param concurrency: searches running at once (``CUSTOMERS_SEARCH_CONCURRENCY``).
    :param budget: seconds one search may take (``CUSTOMERS_SEARCH_BUDGET``).
    :param queue_wait: seconds a search may wait for a slot.
    """

    def __init__(
        self, *, concurrency: int = 4, budget: float = 2.0, queue_wait: float = QUEUE_WAIT
    ) -> None:
        if concurrency < 1 or not budget > 0:
            raise ValueError("search concurrency must be >= 1 and the budget > 0")
        self.budget = budget
        self.searches = Slots(
            concurrency,
            max_waiting=max(1, concurrency // 4),
            queue_wait=queue_wait,
            refusal="Too many searches at once; try again shortly.",
        )
        self.scans = Slots(
            max(1, concurrency // 4),
            max_waiting=1,
            queue_wait=queue_wait,
            refusal=(
                "Too many searches the search index cannot answer are running; "
                "try again shortly or narrow the filters."
            ),
        )

    def __repr__(self) -> str:
        return f"<SearchGate searches={self.searches} scans={self.scans} budget={self.budget}s>"

    @property
    def running(self) -> int:
        """Searches holding a slot now."""
        return self.searches.busy

    async def search(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run one search: admitted, within the budget (``Unavailable`` otherwise)."""
        await self.searches.acquire()
        task, deadline = self._start(work)
        return await self._within_budget(self.searches.hold_until_done(task), deadline)

    async def scan(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run the MongoDB part of a search the index could not answer (inside :meth:`search`),
        holding one of the few scan slots until MongoDB is done with it."""
        return await self.scans.run_to_the_end(work)

    async def bounded(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` within the budget, its MongoDB calls under ``maxTimeMS``; no admission
        (lists that are not searches: their cost is bounded, but MongoDB's time is not)."""
        return await self._within_budget(*self._start(work))

    def _start(self, work: Callable[[], Awaitable[T]]) -> tuple[asyncio.Task[T], float]:
        """Start ``work`` as a task whose MongoDB calls see this budget's deadline."""
        now = asyncio.get_running_loop().time()
        arrival = _arrival.get()
        start = now if arrival is None else min(arrival, now)
        deadline = start + self.budget - response_margin(self.budget)
        token = _deadline.set(deadline)
        try:
            return _start(work), deadline  # the task copies the context, deadline included
        finally:
            _deadline.reset(token)

    async def _within_budget(self, task: asyncio.Task[T], deadline: float) -> T:
        """``task``'s result, or ``Unavailable`` once the budget is spent (it runs on)."""
        left = max(0.0, deadline - asyncio.get_running_loop().time())
        done, _ = await asyncio.wait({task}, timeout=left)  # never cancels the task
        if not done:
            raise self._over_budget()
        try:
            return task.result()
        except ExecutionTimeout:
            raise self._over_budget() from None
        except TimeoutError:
            if asyncio.get_running_loop().time() >= deadline:  # max_time_ms(): budget spent
                raise self._over_budget() from None
            raise

    def _over_budget(self) -> Unavailable:
        return Unavailable(
            f"The search did not finish within its {self.budget:g} s budget "
            "(CUSTOMERS_SEARCH_BUDGET); narrow it down or try again.",
            retry_after=1.0,
        )


def _start(work: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
    """Run ``work`` as a task whose outcome nobody has to collect (a caller may give up)."""

    async def run() -> T:
        return await work()

    task = asyncio.create_task(run())
    task.add_done_callback(_collected)
    return task


def _collected(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # marked retrieved: a caller that gave up does not want it logged
