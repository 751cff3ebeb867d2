"""Medusa's peer benchmark (``shared/peers/medusa``): set it up and run ``node bench.js N``.

The peer folder installs npm packages next to itself, so it runs from a copy: ``workdir/medusa``,
with its PostgreSQL cluster in ``workdir/pg`` (``PGROOT_BENCH``; the peer's own default is one
fixed folder under /tmp, which two copies would share). A ``workdir`` that already holds a copy
is reused: ``setup.sh`` is idempotent and skips ``npm ci`` when the lock file is unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["find_peer_source", "run_peer"]

PEER = Path("shared") / "peers" / "medusa"


def find_peer_source(start: Path) -> Path | None:
    """The peer folder in ``start`` or the nearest parent that has one (main checkout and
    worktrees sit at different depths below the project folder)."""
    for folder in (start, *start.parents):
        if (folder / PEER / "bench.js").is_file():
            return folder / PEER
    return None


def _prepare(source: Path, workdir: Path) -> tuple[Path, dict[str, str]]:
    copy = workdir / "medusa"
    if not (copy / "bench.js").is_file():
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("node_modules"))
    env = {**os.environ, "PGROOT_BENCH": str(workdir / "pg")}
    return copy, env


def run_peer(
    source: Path, workdir: Path, customers: int, *, stop_after: bool = True
) -> dict[str, Any]:
    """Set the peer up in ``workdir`` and return ``node bench.js customers``'s JSON object,
    plus ``setup_s`` and ``bench_wall_s``. Its progress goes to this process's stderr, the
    output of ``setup.sh`` to ``workdir/setup.log``, the JSON also to ``workdir/bench-N.json``.
    PostgreSQL is stopped afterwards unless ``stop_after`` is False, so it does not share the
    CPU with what runs next."""
    copy, env = _prepare(source, workdir)
    started = time.perf_counter()
    with (workdir / "setup.log").open("ab") as log:
        subprocess.run(["./setup.sh"], cwd=copy, env=env, stdout=log, stderr=log, check=True)
    setup_s = time.perf_counter() - started
    started = time.perf_counter()
    try:
        out = subprocess.run(
            ["node", "bench.js", str(customers)],
            cwd=copy, env=env, stdout=subprocess.PIPE, stderr=sys.stderr, check=True, text=True,
        ).stdout  # fmt: skip
    finally:
        if stop_after:
            subprocess.run(
                ["./setup.sh", "stop"], cwd=copy, env=env, capture_output=True, check=False
            )
    (workdir / f"bench-{customers}.json").write_text(out)  # for --peer-json next time
    result: dict[str, Any] = json.loads(out)
    result["setup_s"] = round(setup_s, 1)
    result["bench_wall_s"] = round(time.perf_counter() - started, 1)
    return result
