"""A field declared once reaches the whole app side (see ``declared_field.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_declared_field_needs_no_other_edit(mongodb_uri: str, database_name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.service.declared_field", mongodb_uri, database_name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
