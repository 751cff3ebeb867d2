"""The sync indexer through a server that answers nothing for a while (the embedded server does
that for minutes while it reads a whole collection at 1,000,000 customers).

A real server process is stopped with SIGSTOP for longer than the API client's heartbeat
allowance (``app.db.FAIL_FAST``: 5 s late, checked every 2 s), then continued. On the indexer's
patient client (``app.db.PATIENT``) the session waits and goes on. On a fail-fast client (what
the in-process indexer shared with the API before) the driver interrupts the operation in
flight and the session fails and restarts (a reindex in progress would start over); until the
lease keeper stopped swallowing its cancellation (``indexers.retry.raise_if_cancelled``), that
session never ended and nothing was indexed again.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

from app.db import new_client
from indexers.backends.embedded import EmbeddedBackend
from tests.indexers.sync_support import (
    assert_index_matches,
    dedicated_server_process,
    raw_customer,
    running,
)
from tests.indexers.test_sync import indexer

STALL_S = 9.0  # > FAIL_FAST's 5 s heartbeat allowance + its 2 s heartbeat interval


def stalled_session_failures(tmp_path: Path, *, patient: bool) -> tuple[int, list[str]]:
    """Run an indexer, stop the server for :data:`STALL_S`, write after it continues; return
    how many times the session failed and restarted, and the ids the index holds."""
    failures: list[logging.LogRecord] = []

    class Failures(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            # a failed session: "restarting from the checkpoint" (an error) or "resumes from
            # its checkpoint when it is back" (MongoDB unreachable)
            message = record.getMessage()
            if "from the checkpoint" in message or "from its checkpoint" in message:
                failures.append(record)

    handler = Failures()
    logger = logging.getLogger("customers.indexer")
    logger.addHandler(handler)

    async def body(uri: str, server: Any) -> list[str]:
        mongo = new_client(uri, patient=patient)
        db = mongo["stall"]
        try:
            await db.customers.insert_one(raw_customer(1))
            ix = indexer(db, EmbeddedBackend(tmp_path / "search"))
            async with running(ix, wait_for="ready"):
                server.send_signal(signal.SIGSTOP)
                await asyncio.sleep(STALL_S)
                server.send_signal(signal.SIGCONT)
                writer = new_client(uri)  # a fresh client: the stall is over
                try:
                    await writer["stall"].customers.insert_one(raw_customer(2))
                finally:
                    await writer.close()
                assert await ix.wait_until_applied(timeout=30)
                await assert_index_matches(db.customers, ix.backend)
                return sorted(await ix.backend.versions(None))
        finally:
            await mongo.close()

    try:
        with dedicated_server_process() as (uri, server):
            ids = asyncio.run(body(uri, server))
    finally:
        logger.removeHandler(handler)
    return len(failures), ids


def test_a_patient_indexer_client_waits_out_a_server_that_answers_nothing(
    tmp_path: Path,
) -> None:
    failures, ids = stalled_session_failures(tmp_path, patient=True)
    assert ids == ["cus_0000001", "cus_0000002"]
    assert failures == 0
