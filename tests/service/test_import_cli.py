"""``customers import``: summary line, exit status, error file."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from app.cli import cli
from tests.service.import_support import shopify


@pytest.fixture
def env(mongodb_uri: str, database_name: str) -> dict[str, str]:
    return {"MONGODB_URI": mongodb_uri, "MONGODB_DATABASE": database_name}


def test_import_summary_exit_status_and_error_file(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "good.csv"
    good.write_bytes(shopify({"Email": "a@x.com"}, {"Email": "b@x.com"}))
    runner = CliRunner()
    first = runner.invoke(cli, ["import", str(good)], env=env)
    assert first.exit_code == 0, first.output
    assert "2 rows (shopify): 2 created, 0 updated, 0 unchanged, 0 failed" in first.output
    dry = runner.invoke(cli, ["import", str(good), "--dry-run", "--mode", "create"], env=env)
    assert dry.exit_code == 3 and "would be 0 created" in dry.output
    assert not list(tmp_path.glob(".import-errors-*"))

    bad = tmp_path / "bad.csv"
    bad.write_bytes(shopify({"Email": "c@x.com"}, {"Email": "x" * 400}))
    report = tmp_path / "fix-me.csv"
    second = runner.invoke(cli, ["import", str(bad), "--errors", str(report)], env=env)
    assert second.exit_code == 3, second.output
    assert "1 created" in second.output and "1 failed" in second.output
    lines = report.read_text().splitlines()
    assert len(lines) == 2 and lines[1].endswith(
        ",3,Email,Invalid request: Field 'email' must be at most 320 characters"
    )

    default = runner.invoke(cli, ["import", str(bad), "--format", "shopify"], env=env)
    assert default.exit_code == 3 and (tmp_path / "bad.csv.errors.csv").is_file()

    unknown = tmp_path / "unknown.csv"
    unknown.write_text("name,age\n")
    failed = runner.invoke(cli, ["import", str(unknown)], env=env)
    assert failed.exit_code == 1 and "not recognised" in failed.output
