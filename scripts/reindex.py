"""Zero-downtime full reindex of the customer search index (same as ``customers reindex``).

Usage: ``python scripts/reindex.py [--timeout SECONDS]`` with the usual environment
(MONGODB_URI or the embedded data dir, ELASTICSEARCH_URL or tantivy). The implementation is
:func:`app.cli.reindex.run_reindex` → :mod:`indexers.reindex`; this is only a shell.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=None, help="give up after N seconds")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:

    from app.cli.reindex import reindex

    args = parse_args(argv)
    extra = [] if args.timeout is None else ["--timeout", str(args.timeout)]
    try:
        reindex.main(extra, standalone_mode=False)
    except Exception as exc:
        print(f"reindex failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
