"""``customers export``: the CLI shell over ``export_customers``."""

from __future__ import annotations

import gzip
import json

import pytest
from click.testing import CliRunner

from app.cli import cli
from tests.dataio.export_data import store_data_set
from tests.dataio.test_export import GOLDEN


@pytest.fixture
def env(service, mongodb_uri: str, database_name: str) -> dict[str, str]:
    store_data_set(service)
    return {"MONGODB_URI": mongodb_uri, "MONGODB_DATABASE": database_name}


def test_stdout_is_the_file(env) -> None:
    result = CliRunner().invoke(cli, ["export", "--format", "shopify"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == (GOLDEN / "customers.shopify.csv").read_bytes()


def test_to_a_file_with_filters(env, tmp_path) -> None:
    out = tmp_path / "vip.jsonl.gz"
    args = ["export", "--group", "cusgroup_a", "--with-deleted", "--gzip", "-o", str(out)]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    assert "exported 2 customers" in result.stderr
    lines = [json.loads(line) for line in gzip.decompress(out.read_bytes()).splitlines()]
    assert [line["id"] for line in lines if line["type"] == "customer"] == ["cus_01", "cus_03"]
    assert [p.name for p in tmp_path.iterdir()] == ["vip.jsonl.gz"]  # no partial file left


@pytest.mark.parametrize(
    ("args", "ids"),
    [(["--q", "pify"], ["cus_04"]), (["--has-account", "true"], ["cus_02"])],
)
def test_filters(env, args, ids) -> None:
    result = CliRunner().invoke(cli, ["export", *args], env=env)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines if line["type"] == "customer"] == ids


def test_bad_filters_are_one_line(env, tmp_path) -> None:
    out = tmp_path / "x.jsonl"
    result = CliRunner().invoke(cli, ["export", "--q", "x" * 600, "-o", str(out)], env=env)
    assert result.exit_code == 1 and "Error:" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []
