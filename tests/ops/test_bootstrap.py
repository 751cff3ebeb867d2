"""The composition root: what ``create_app`` / ``build_runtime`` start, and what they stop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pymongo.errors import ConfigurationError

from app import create_app
from app.bootstrap import build_runtime
from app.config import Settings
from app.webapp import close_app, run, runtime_of
from indexers.sync import Indexer
from tests.indexers.sync_support import raw_customer, until


def _loop_threads() -> int:
    return sum(thread.name == "customers-loop" for thread in threading.enumerate())


def test_create_app_runs_the_indexer_on_the_app_loop_until_closed(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    settings = Settings(
        mongodb_uri=mongodb_uri, mongodb_database=database_name, data_dir=tmp_path / "data"
    )
    app = create_app(settings)
    runtime = runtime_of(app)
    try:
        ix = runtime.indexer
        assert isinstance(ix, Indexer)
        assert runtime.service.index is runtime.search.reader

        async def write_and_wait() -> dict[str, int]:
            await until(lambda: ix.ready)
            await runtime.service.database.customers.insert_one(raw_customer(1))
            assert await ix.wait_until_applied(timeout=5)
            return await ix.backend.versions(["cus_0000001"])

        assert "cus_0000001" in run(write_and_wait(), app=app)
    finally:
        close_app(app)
    assert not ix.active
    assert runtime.loop.loop.is_closed()


def test_indexer_off_attaches_the_index_without_an_indexer(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    settings = Settings(
        mongodb_uri=mongodb_uri,
        mongodb_database=database_name,
        data_dir=tmp_path / "data",
        indexer_enabled=False,
    )
    runtime = build_runtime(settings)
    try:
        assert runtime.search is not None and runtime.indexer is None
        assert runtime.service.index is runtime.search.reader
        assert set(runtime.checks) == {"mongodb", "index", "indexer"}
        assert runtime.registry.get_sample_value("customers_indexer_active", {}) is None
    finally:
        runtime.close()


def test_a_runtime_that_cannot_connect_leaves_no_loop_running(tmp_path: Path) -> None:
    before = _loop_threads()
    unusable = "mongodb://127.0.0.1:1,127.0.0.1:2/?directConnection=true"
    with pytest.raises(ConfigurationError, match="multiple hosts"):
        build_runtime(Settings(mongodb_uri=unusable, data_dir=tmp_path / "data"))
    assert _loop_threads() == before
