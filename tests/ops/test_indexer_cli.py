"""``customers index`` as operators run it: its own metrics port, ``--burst`` beside another
indexer, readable ``index status``, the reindex progress total, and a quiet first build."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.cli.reindex import run_reindex
from indexers.backends.embedded import EmbeddedBackend
from indexers.state import IndexerState
from indexers.sync import Indexer
from tests.indexers.sync_support import client, free_port, raw_customer
from tests.ops.conftest import samples, scrape_url, wait_for

ROOT = Path(__file__).resolve().parents[2]
INDEX = (("index", "customers"),)


def _seed(uri: str, database: str, count: int) -> None:
    async def seed() -> None:
        mongo = client(uri)
        await mongo[database].customers.insert_many([raw_customer(n) for n in range(count)])
        await mongo.close()

    asyncio.run(seed())


@pytest.fixture
def env(mongodb_uri: str, database_name: str, tmp_path: Path) -> dict[str, str]:
    return {
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": database_name,
        "CUSTOMERS_DATA_DIR": str(tmp_path / "data"),
        "CUSTOMERS_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def index_process(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`customers index --metrics-port PORT` in a process of its own."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "index", "--lease-ttl", "3", "--metrics-port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
            if process.stderr:
                process.stderr.close()


def test_a_separate_indexer_serves_its_metrics_and_burst_and_readiness_follow_it(
    env, index_process, make_app, mongodb_uri, database_name
) -> None:
    _seed(mongodb_uri, database_name, 30)
    process, port = index_process

    def caught_up() -> dict | None:
        try:
            scraped = samples(scrape_url(f"http://127.0.0.1:{port}/metrics"))
        except OSError:
            assert process.poll() is None, process.stderr.read().decode()
            return None
        ready = scraped.get(("customers_indexer_caught_up", INDEX)) == 1.0
        return scraped if ready and scraped[("customers_indexer_reindexes_total", INDEX)] else None

    scraped = wait_for(caught_up, timeout=60)
    assert scraped[("customers_indexer_active", INDEX)] == 1.0
    assert scraped[("customers_indexer_lag_seconds", INDEX)] == 0.0
    assert scraped[("customers_indexer_pending_events", INDEX)] == 0.0
    assert scraped[("customers_indexer_dead_letters_total", INDEX)] == 0.0
    assert ("process_cpu_seconds_total", ()) in scraped

    # --burst beside the running indexer: waits for it, then exits 0 (did not stand by)
    result = CliRunner().invoke(cli, ["index", "--burst"], env=env)
    assert result.exit_code == 0, result.output
    assert "(another process) holds the lease of 'customers'" in result.output
    assert "has applied every change made before this command" in result.output

    # the API with CUSTOMERS_INDEXER=off is ready through the state document
    app, _ = make_app(search=True, data_dir=Path(env["CUSTOMERS_DATA_DIR"]))
    response = wait_for(
        lambda: (r := app.test_client().get("/health/ready")).status_code == 200 and r
    )
    indexer = response.json["checks"]["indexer"]
    assert indexer["where"] != "this process" and indexer["where"].split(":")[1] == str(process.pid)
    assert indexer["lag_s"] == 0.0

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def test_a_metrics_port_in_use_is_one_line_and_exit_1(env) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["index", "--metrics-port", str(port)], env=env)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot serve metrics on 127.0.0.1:{port} (METRICS_PORT / --metrics-port): "
        "Address already in use\n"
    )


def test_index_status_prints_readable_values(env, mongodb_uri, database_name) -> None:
    _seed(mongodb_uri, database_name, 20)
    runner = CliRunner()
    assert runner.invoke(cli, ["reindex"], env=env).exit_code == 0
    text = runner.invoke(cli, ["index", "status"], env=env)
    assert text.exit_code == 0, text.output
    assert "datetime" not in text.output and "FixedOffset" not in text.output
    lines = {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
        for line in text.output.splitlines()
    }
    assert lines["checkpoint_at"].startswith("20") and "T" in lines["checkpoint_at"]
    assert float(lines["checkpoint_age_s"]) >= 0
    assert lines["finished_at"].endswith("+00:00")  # a field of last_reindex, indented below it
    as_json = runner.invoke(cli, ["index", "status", "--json"], env=env)
    report = json.loads(as_json.output)
    assert report["last_reindex"]["copied"] == 20
    assert report["last_reindex"]["finished_at"].endswith("+00:00")


def test_reindex_progress_knows_the_total_before_copying(
    mongodb_uri, database_name, tmp_path
) -> None:
    _seed(mongodb_uri, database_name, 120)
    from app.config import Settings

    settings = Settings(
        mongodb_uri=mongodb_uri, mongodb_database=database_name, data_dir=tmp_path / "data"
    )
    seen: list[tuple[int, int]] = []

    async def main() -> None:
        mongo = client(mongodb_uri)
        backend = EmbeddedBackend(tmp_path / "data" / "search")
        try:
            await run_reindex(
                settings, mongo[database_name], backend, progress=lambda *p: seen.append(p)
            )
        finally:
            await backend.close()
            await mongo.close()

    asyncio.run(main())
    assert seen[0] == (0, 120)  # count and total before the first page is copied
    assert seen[-1] == (120, 120)


@pytest.fixture
def indexer_log() -> Iterator[list[logging.LogRecord]]:
    """The records of the ``customers.indexer`` loggers (whatever `serve` did to propagation)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign,assignment]  # a list collects
    logger = logging.getLogger("customers.indexer")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_the_first_build_is_quiet_and_a_lost_checkpoint_stays_loud(
    mongodb_uri, database_name, tmp_path, indexer_log
) -> None:
    async def main() -> None:
        mongo = client(mongodb_uri)
        db = mongo[database_name]
        await db.customers.insert_many([raw_customer(n) for n in range(10)])
        backend = EmbeddedBackend(tmp_path / "search")
        try:
            await Indexer(db, backend).run_until_caught_up()
            first = [(r.levelno, r.getMessage()) for r in indexer_log]
            indexer_log.clear()
            # the checkpoint is lost while an index exists: that index may miss changes
            await IndexerState(db).collection.update_one({}, {"$unset": {"resume_token": ""}})
            await Indexer(db, backend).run_until_caught_up()
        finally:
            await backend.close()
            await mongo.close()
        assert all(level < logging.WARNING for level, _ in first), first
        assert any(
            "building the search index 'customers' for the first time" in m for _, m in first
        )
        assert not any("None" in m for _, m in first), first
        assert any(
            r.levelno == logging.ERROR
            and "IS MISSING CHANGES (no checkpoint yet)" in r.getMessage()
            for r in indexer_log
        )

    asyncio.run(main())
