"""``customers erase`` and ``customers purge`` (no indexer running: they catch the index up)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from app.cli import cli
from app.service import CustomerModuleService
from indexers.backends.embedded import EmbeddedBackend


def env_for(uri: str, database: str, data_dir: Path) -> dict[str, str]:
    return {
        "MONGODB_URI": uri,
        "MONGODB_DATABASE": database,
        "CUSTOMERS_DATA_DIR": str(data_dir),
        "CUSTOMERS_LOG_LEVEL": "WARNING",
    }


def on_service(uri: str, database: str, work: Any) -> Any:
    async def main() -> Any:
        service = await CustomerModuleService.connect(uri, database)
        try:
            return await work(service)
        finally:
            await service.close()

    return asyncio.run(main())


def indexed_ids(data_dir: Path) -> set[str]:
    async def main() -> set[str]:
        backend = EmbeddedBackend(data_dir / "search")
        try:
            return set(await backend.versions(None))
        finally:
            await backend.close()

    return asyncio.run(main())


def test_erase_removes_the_customer_from_mongodb_and_the_index(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    env = env_for(mongodb_uri, database_name, tmp_path / "data")

    async def seed(service: CustomerModuleService) -> list[str]:
        created = await service.create_customers(
            [{"email": "gone@example.com"}, {"email": "kept@example.com"}]
        )
        return [c.id for c in created]

    gone, kept = on_service(mongodb_uri, database_name, seed)
    runner = CliRunner()
    built = runner.invoke(cli, ["reindex"], env=env, catch_exceptions=False)
    assert built.exit_code == 0, built.output
    assert indexed_ids(tmp_path / "data") == {gone, kept}

    result = runner.invoke(cli, ["erase", gone, "--yes"], env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert f"{gone}: erased now" in result.output and "search index: removed" in result.output
    assert indexed_ids(tmp_path / "data") == {kept}
    left = on_service(mongodb_uri, database_name, lambda s: s.store.customers.distinct("_id"))
    assert left == [kept]

    again = runner.invoke(cli, ["erase", gone, "--yes"], env=env, catch_exceptions=False)
    assert again.exit_code == 0 and f"{gone}: erased before" in again.output
    unknown = runner.invoke(cli, ["erase", "cus_unknown", "--yes"], env=env)
    assert unknown.exit_code == 1 and "cus_unknown" in unknown.output
    refused = runner.invoke(cli, ["erase", kept], env=env, input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output


def test_purge_dry_run_then_for_real(mongodb_uri: str, database_name: str, tmp_path: Path) -> None:
    env = env_for(mongodb_uri, database_name, tmp_path / "data")
    long_ago = datetime.now(UTC) - timedelta(days=800)

    async def seed(service: CustomerModuleService) -> list[str]:
        created = await service.create_customers(
            [{"email": f"{n}@example.com"} for n in ("old1", "old2", "recent", "live")]
        )
        ids = [c.id for c in created]
        await service.store.customers.update_many(
            {"_id": {"$in": ids[:2]}}, {"$set": {"deleted_at": long_ago}}
        )
        await service.soft_delete_customers([ids[2]])
        return ids

    _old1, _old2, recent, live = on_service(mongodb_uri, database_name, seed)
    runner = CliRunner()
    cutoff = (datetime.now(UTC) - timedelta(days=365)).strftime("%Y-%m-%d")

    dry = runner.invoke(cli, ["purge", "--deleted-before", cutoff, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "2 customers soft-deleted before" in dry.output and "dry run" in dry.output

    real = runner.invoke(cli, ["purge", "--deleted-before", cutoff, "--yes"], env=env)
    assert real.exit_code == 0, real.output
    assert "erased 2 customers" in real.output
    left = on_service(mongodb_uri, database_name, lambda s: s.store.customers.distinct("_id"))
    assert sorted(left) == sorted([recent, live])
    receipts = on_service(mongodb_uri, database_name, lambda s: s.store.erasures.distinct("by"))
    assert receipts == ["purge"]
    bad = runner.invoke(cli, ["purge", "--deleted-before", "last tuesday"], env=env)
    assert bad.exit_code == 2 and "--deleted-before" in bad.output
