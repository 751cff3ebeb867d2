"""The composition root: what a process of the service runs, built from its :class:`Settings`.

Every entry point gets its parts here and nowhere else, so a part never looks another up or
is wired by having its attributes set from outside: each is given what it needs when built.

- :func:`build_runtime` (the API: :func:`app.create_app`, ``customers serve``): the MongoDB
  client (``MONGODB_URI``, or the embedded server of the data dir, which the runtime then holds),
  the search backend (``ELASTICSEARCH_URL``, or tantivy in the data dir), the sync indexer that
  runs in this process unless ``CUSTOMERS_INDEXER=off``, the index reader with read-your-writes,
  the service (given the reader), the background jobs' runner (:mod:`app.jobs`), the readiness
  checks and the metrics registry.
- :func:`connected` / :func:`connected_search`: a database (and a backend) for one command
  (``customers api-key``, ``customers index status``, ``customers reindex`` ...).
- :func:`new_indexer`: the sync indexer, for ``serve`` and ``customers index`` alike.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from prometheus_client import CollectorRegistry
from pymongo.asynchronous.database import AsyncDatabase

from app import readiness
from app.config import Settings
from app.credentials import ApiKeys
from app.db import close_client, new_client, open_client
from app.duplicates import DetectionOptions
from app.embedded import EmbeddedServer
from app.jobs import JobRunner, Jobs
from app.jobs.store import JobStore
from app.metrics import new_registry
from app.runtime import LoopThread, Runtime, Search
from app.service import CustomerModuleService
from indexers.backends import SearchBackend, open_backend
from indexers.health import index_check, indexer_check
from indexers.metrics import IndexerCollector
from indexers.sync import Indexer
from indexers.wiring import search_reader

__all__ = [
    "build_runtime",
    "configure_duplicates",
    "connected",
    "connected_search",
    "connected_service",
    "new_indexer",
]

Database = AsyncDatabase[dict[str, Any]]

log = logging.getLogger("customers.bootstrap")


def build_runtime(
    settings: Settings,
    *,
    search: bool = True,
    on_database_moved: Callable[[int, int], None] | None = None,
) -> Runtime:
    """Connect everything ``settings`` describe; the runtime is ready to :meth:`~Runtime.start`.

    :param search: attach the search index (and its indexer). Without it MongoDB answers
        every list: the fallback path, for tests and measurements.
    :param on_database_moved: called as ``(old_port, new_port)`` when the embedded MongoDB had
        to be restarted on another port, which this process's clients cannot follow.
    :raise app.embedded.EmbeddedServerError: the embedded MongoDB did not start.
    :raise pymongo.errors.PyMongoError: MongoDB is unreachable or ``MONGODB_URI`` unusable.
    """
    server = None
    if settings.mongodb_uri is None:
        server = EmbeddedServer(settings.data_dir, on_moved=on_database_moved).start()
    uri = server.uri if server is not None else settings.mongodb_uri
    assert uri is not None
    loop = LoopThread()
    try:
        return loop.run(_assemble(settings, loop, uri, server, search=search))
    except BaseException:
        loop.stop()
        if server is not None:
            server.stop()
        raise


async def _assemble(
    settings: Settings,
    loop: LoopThread,
    uri: str,
    server: EmbeddedServer | None,
    *,
    search: bool,
) -> Runtime:
    """Build the parts on the runtime's loop (the client belongs to the loop it is used on)."""
    client = new_client(uri)
    database = client[settings.mongodb_database]
    registry = new_registry()
    parts = None
    try:
        parts = _open_search(settings, database, registry, uri) if search else None
        service = await CustomerModuleService.connect(
            client=client,
            database=settings.mongodb_database,
            search_concurrency=settings.search_concurrency,
            search_budget=settings.search_budget_seconds,
            index=parts.reader if parts is not None else None,
            link_guest_on_register=settings.link_guest_on_register,
        )
        configure_duplicates(service, settings)
        await ApiKeys(database).ensure_indexes()
    except BaseException:
        if parts is not None:
            await parts.backend.close()
            if parts.client is not None:
                await parts.client.close()
        await client.close()
        raise
    checks = {"mongodb": readiness.ping(database)}
    if parts is not None:
        checks["index"] = index_check(service)
        checks["indexer"] = indexer_check(
            database, name=settings.elasticsearch_index, indexer=parts.indexer
        )
    return Runtime(
        settings=settings,
        loop=loop,
        client=client,
        service=service,
        registry=registry,
        checks=checks,
        search=parts,
        database_server=server,
        jobs=_jobs(settings, database, service),
    )


def _jobs(settings: Settings, database: Database, service: CustomerModuleService) -> Jobs:
    """Background jobs, with their files in the data directory's ``jobs/``."""
    store = JobStore(database["jobs"])
    return Jobs(store, JobRunner(store, service, settings.data_dir / "jobs"))


def _open_search(
    settings: Settings, database: Database, registry: CollectorRegistry, uri: str
) -> Search:
    """The backend, this process's indexer (unless ``CUSTOMERS_INDEXER=off``), the reader.

    The indexer gets a patient client of its own (:data:`app.db.PATIENT`: it waits for a
    server busy with a long read); the reader, read-your-writes probe included, uses the
    API's, which fails fast.
    """
    backend = open_backend(settings)
    indexer = client = None
    if settings.indexer_enabled:
        client = new_client(uri, patient=True)
        indexer_database = client[settings.mongodb_database]
        indexer = new_indexer(settings, indexer_database, backend, registry=registry)
    else:
        log.info("CUSTOMERS_INDEXER is off: a separate `customers index` keeps the index fresh")
    reader = search_reader(database, backend, indexer=indexer, name=settings.elasticsearch_index)
    return Search(backend=backend, reader=reader, indexer=indexer, client=client)


def new_indexer(
    settings: Settings,
    database: Database,
    backend: SearchBackend,
    *,
    registry: CollectorRegistry | None = None,
    **options: Any,
) -> Indexer:
    """The sync indexer of ``settings``' index; its metrics join ``registry`` if given.

    ``options`` are :class:`~indexers.sync.Indexer`'s (``lease_ttl``, ``batch_size`` ...).
    """
    indexer = Indexer(database, backend, name=settings.elasticsearch_index, **options)
    if registry is not None:
        registry.register(IndexerCollector(indexer))
    return indexer


@contextlib.asynccontextmanager
async def connected(settings: Settings, *, patient: bool = False) -> AsyncIterator[Database]:
    """The database, on a client of the running loop's own (closed, and the embedded MongoDB
    left, on exit); ``patient``: a client for the sync indexer (:data:`app.db.PATIENT`)."""
    client, server = await open_client(settings, patient=patient)
    try:
        yield client[settings.mongodb_database]
    finally:
        await close_client(client, server)


def configure_duplicates(service: CustomerModuleService, settings: Settings) -> None:
    """Give the service the duplicate detection options of ``settings``."""
    service.configure_duplicates(
        DetectionOptions(
            email_folding=settings.duplicates_email_folding,
            phone_region=settings.duplicates_phone_region,
        ),
        min_score=settings.duplicates_min_score,
    )


@contextlib.asynccontextmanager
async def connected_service(settings: Settings) -> AsyncIterator[CustomerModuleService]:
    """A service without the search index (MongoDB answers), for one-shot commands."""
    async with connected(settings) as database:
        service = await CustomerModuleService.connect(
            client=database.client, database=settings.mongodb_database
        )
        configure_duplicates(service, settings)
        yield service


@contextlib.asynccontextmanager
async def connected_search(settings: Settings) -> AsyncIterator[tuple[Database, SearchBackend]]:
    """The database and the search backend (both closed on exit). The commands that use them
    run the sync indexer (``customers index``, ``reindex``, ``erase``), so the client is a
    patient one (:data:`app.db.PATIENT`)."""
    async with connected(settings, patient=True) as database:
        backend = open_backend(settings)
        try:
            yield database, backend
        finally:
            await backend.close()
