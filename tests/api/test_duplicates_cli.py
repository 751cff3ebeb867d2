"""``customers duplicates scan``: JSON Lines of clusters, to a file or standard output."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli import cli


@pytest.fixture
def env(mongodb_uri: str, database_name: str, tmp_path) -> dict[str, str]:
    return {
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": database_name,
        "CUSTOMERS_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.fixture
def seeded(service) -> dict[str, str]:
    made = service.create_customers(
        [
            {"email": "ann@example.com", "first_name": "Ann", "last_name": "Lee"},
            {
                "email": "ann.lee@work.example",
                "first_name": "Ann",
                "last_name": "Lee",
                "phone": "+1 212 555 0100",
            },
            {
                "email": "a.lee@home.example",
                "first_name": "Anne",
                "last_name": "Lee",
                "phone": "(212) 555-0100",
            },
            {"email": "bob@example.com", "first_name": "Bob", "last_name": "Stone"},
        ]
    )
    service.create_customers({"email": "BOB@example.com", "has_account": True})
    return {c.email: c.id for c in made}


def test_scan_writes_one_cluster_per_line_best_first(env, seeded, tmp_path) -> None:
    out = tmp_path / "clusters.jsonl"
    result = CliRunner().invoke(cli, ["duplicates", "scan", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [sorted(line) for line in lines] == [["customer_ids", "reasons", "score"]] * 2
    assert [line["score"] for line in lines] == sorted(
        (line["score"] for line in lines), reverse=True
    )
    lees, bob = lines  # same phone and name (0.8 and more) before an email alone (0.7)
    assert bob["customer_ids"][0] == seeded["bob@example.com"] and bob["reasons"] == ["same email"]
    assert set(lees["customer_ids"]) == {
        seeded["ann.lee@work.example"],
        seeded["a.lee@home.example"],
    }
    assert "same phone" in lees["reasons"]
    assert "2 clusters, 4 customers" in result.stderr


def test_scan_to_standard_output_with_a_threshold(env, seeded) -> None:
    result = CliRunner().invoke(cli, ["duplicates", "scan", "--min-score", "0.3"], env=env)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert seeded["ann@example.com"] in lines[1]["customer_ids"]  # the namesake joins at 0.3


def test_a_bad_threshold_is_refused(env) -> None:
    result = CliRunner().invoke(cli, ["duplicates", "scan", "--min-score", "2"], env=env)
    assert result.exit_code == 2 and "must be from 0 to 1" in result.output
