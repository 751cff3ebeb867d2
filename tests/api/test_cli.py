"""The `customers` CLI: api-key create/list/revoke and token, through click's runner."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.credentials import decode_token

SECRET = "cli-test-secret-long-enough-for-hs256-0123456789"


@pytest.fixture
def env(mongodb_uri: str, database_name: str) -> dict[str, str]:
    return {"MONGODB_URI": mongodb_uri, "MONGODB_DATABASE": database_name, "JWT_SECRET": SECRET}


def test_api_key_lifecycle(env) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["api-key", "create", "--title", "ci"], env=env)
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("sk_") and len(secret) == 67
    listed = runner.invoke(cli, ["api-key", "list"], env=env)
    assert listed.exit_code == 0
    assert "ci" in listed.stdout and "active" in listed.stdout
    assert secret not in listed.stdout  # only the redacted form
    key_id = listed.stdout.split()[0]
    assert key_id.startswith("apk_")
    revoked = runner.invoke(cli, ["api-key", "revoke", key_id], env=env)
    assert revoked.exit_code == 0
    assert "revoked" in runner.invoke(cli, ["api-key", "list"], env=env).stdout
    missing = runner.invoke(cli, ["api-key", "revoke", "apk_nope"], env=env)
    assert missing.exit_code == 1 and "not found" in missing.output


def test_api_keys_with_a_scope_and_an_expiry(env) -> None:
    runner = CliRunner()
    created = runner.invoke(
        cli,
        ["api-key", "create", "--title", "support", "--scope", "read", "--expires-in", "30d"],
        env=env,
    )
    assert created.exit_code == 0, created.output
    assert "scope read" in created.stderr and "expires 20" in created.stderr
    default = runner.invoke(cli, ["api-key", "create", "--title", "ops"], env=env)
    assert default.exit_code == 0 and "scope admin" in default.stderr
    listed = runner.invoke(cli, ["api-key", "list"], env=env).stdout.splitlines()
    support = next(line for line in listed if line.endswith("support"))
    ops = next(line for line in listed if line.endswith("ops"))
    assert " read " in support and "expires 20" in support
    assert " admin " in ops and "no expiry" in ops
    as_json = runner.invoke(cli, ["api-key", "list", "--json"], env=env).stdout
    assert '"scope": "read"' in as_json and '"expires_at": "20' in as_json


@pytest.mark.parametrize(
    ("option", "value", "complaint"),
    [
        ("--scope", "write", "'write' is not one of 'admin', 'read'"),
        ("--expires-in", "30x", "'30x' is not a positive duration like 90s, 15m, 12h or 30d"),
        ("--expires-in", "0d", "is not a positive duration"),
        ("--expires-in", "-5m", "is not a positive duration"),
        ("--expires-in", "999999999d", "'999999999d' is more than 36500 days"),
    ],
)
def test_api_key_options_are_checked(env, option, value, complaint) -> None:
    result = CliRunner().invoke(cli, ["api-key", "create", "--title", "x", option, value], env=env)
    assert result.exit_code == 2 and complaint in result.output


def test_token_command() -> None:
    runner = CliRunner()
    env = {"JWT_SECRET": SECRET}
    out = runner.invoke(cli, ["token", "--customer", "cus_1"], env=env)
    assert out.exit_code == 0
    actor = decode_token(SECRET, out.stdout.strip())
    assert (actor.actor_type, actor.actor_id) == ("customer", "cus_1")
    out = runner.invoke(cli, ["token", "--register", "a@b.co"], env=env)
    assert decode_token(SECRET, out.stdout.strip()).actor_id == ""
    out = runner.invoke(cli, ["token", "--user", "user_1"], env=env)
    assert decode_token(SECRET, out.stdout.strip()).actor_type == "user"
    assert runner.invoke(cli, ["token"], env=env).exit_code == 2
    prod = runner.invoke(cli, ["token", "--user", "u"], env={"CUSTOMERS_ENV": "production"})
    assert prod.exit_code == 1 and "refusing" in prod.output


def test_serve_refuses_production_without_secret(env) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["serve"], env={**env, "CUSTOMERS_ENV": "production", "JWT_SECRET": ""}
    )
    assert result.exit_code == 1
    assert "JWT_SECRET" in result.output
