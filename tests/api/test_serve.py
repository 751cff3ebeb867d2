"""A few requests over real HTTP against a `customers serve` subprocess (waitress)."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.credentials import mint_token

ROOT = Path(__file__).resolve().parents[2]
SECRET = "serve-test-secret-long-enough-for-hs256-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(mongodb_uri: str, database_name: str, tmp_path: Path) -> Iterator[tuple[str, dict]]:
    port = _free_port()
    env = {
        **os.environ,
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": database_name,
        "CUSTOMERS_DATA_DIR": str(tmp_path / "data"),
        "JWT_SECRET": SECRET,
        "CUSTOMERS_INDEXER": "off",
        "METRICS_PORT": str(_free_port()),
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"server did not start:\n{output}")
                time.sleep(0.1)
        yield base, env
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
            if process.stdout:
                process.stdout.close()


def call(method: str, url: str, body: object = None, headers: dict | None = None):
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


def test_serve_over_http(server) -> None:
    base, env = server
    created = CliRunner().invoke(cli, ["api-key", "create", "--title", "http"], env=env)
    secret = created.stdout.strip().splitlines()[-1]
    admin = {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}

    status, body, headers = call("POST", f"{base}/admin/customers", {"email": "h@x.io"}, admin)
    assert status == 200 and headers["X-Request-Id"]
    customer_id = body["customer"]["id"]
    status, body, _ = call("POST", f"{base}/admin/customer-groups", {"name": "G"}, admin)
    group_id = body["customer_group"]["id"]
    status, body, _ = call(
        "POST", f"{base}/admin/customer-groups/{group_id}/customers", {"add": [customer_id]}, admin
    )
    assert status == 200
    status, body, _ = call("GET", f"{base}/admin/customers?groups[0]={group_id}", None, admin)
    assert [c["id"] for c in body["customers"]] == [customer_id]
    # GET with a JSON content type and no body, as the JS SDK sends it
    status, body, _ = call("GET", f"{base}/admin/customers/{customer_id}", None, admin)
    assert status == 200

    assert call("GET", f"{base}/admin/customers")[0:2] == (401, {"message": "Unauthorized"})
    status, body, _ = call("POST", f"{base}/admin/customers", b"x" * (1024 * 1024 + 1), admin)
    assert status == 413

    register = {"Authorization": "Bearer " + mint_token(SECRET, actor_type="customer", actor_id="")}
    status, body, _ = call("POST", f"{base}/store/customers", {"email": "s@x.io"}, register)
    assert status == 200 and body["customer"]["has_account"] is True
    me = {
        "Authorization": "Bearer "
        + mint_token(SECRET, actor_type="customer", actor_id=body["customer"]["id"])
    }
    status, body, _ = call("GET", f"{base}/store/customers/me", None, me)
    assert status == 200 and body["customer"]["email"] == "s@x.io"
    status, body, _ = call("GET", f"{base}/openapi.json")
    assert status == 200 and body["openapi"] == "3.1.0"
    # METRICS_PORT: the same registry, without auth, on a listener of its own
    with urllib.request.urlopen(f"http://127.0.0.1:{env['METRICS_PORT']}/metrics") as response:
        metrics = response.read().decode()
    assert 'route="/store/customers/me",status="200"' in metrics
