"""A new writer's first delete must not be lost to a merge (the crash test's lost delete).

tantivy starts a new writer's opstamps at the last commit's, so its first operation shares
that opstamp. A merge started before the writer's own first commit skips segments whose
deletes already carry that opstamp, and moves past the operation: a first delete aimed at
such a segment was lost, and the customer's old document stayed live beside its tombstone.
It took an indexer killed right after a commit that deleted from several segments, with a
merge due, and a successor whose first write replaced a document of one of them: about 2 % of
the crash test's runs. This test builds that state on purpose, so it fails every time without
the fix (``Generation`` gives the first opstamp to a delete that matches nothing).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from indexers.backends.base import BackendUnavailable, Delete, Upsert
from indexers.backends.embedded import generation as generation_module
from indexers.backends.embedded.generation import Generation
from indexers.documents import to_search_doc
from tests.indexers.sync_support import raw_customer

ROOT = Path(__file__).resolve().parents[2]
SMALL_SEGMENTS = 6  # with the big one and the last, 8: tantivy's default merge is due
PER_SEGMENT = 3

# Run in a child process, which exits the moment its last commit returns: the merge that
# commit started dies with it, as when an indexer is killed.
KILLED_WRITER = textwrap.dedent(
    f"""
    import os, sys
    from indexers.backends.base import Upsert
    from indexers.backends.embedded.generation import Generation
    from indexers.documents import to_search_doc
    from tests.indexers.sync_support import raw_customer

    def up(n, version):
        return Upsert(to_search_doc(raw_customer(n), version))

    generation = Generation(__import__("pathlib").Path(sys.argv[1]))
    generation.apply([up(n, 1) for n in range(100)])  # the biggest segment, first in a merge
    for s in range({SMALL_SEGMENTS}):
        first = 100 + s * {PER_SEGMENT}
        generation.apply([up(n, 1) for n in range(first, first + {PER_SEGMENT})])
    # The last commit adds one segment and deletes from each small one (an update of its
    # second customer), so all of them carry the commit's opstamp as their delete opstamp.
    updates = [up(100 + s * {PER_SEGMENT} + 1, 2) for s in range({SMALL_SEGMENTS})]
    generation.apply([up(1000, 1), *updates])
    os._exit(0)
    """
)


def _killed_writer(path: Path) -> bool:
    """Leave the index as a killed writer does; True when the state that lost deletes is there."""
    subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], cwd=ROOT, check=True)
    meta = json.loads((path / "meta.json").read_text())
    stamped = [
        s for s in meta["segments"] if (s.get("deletes") or {}).get("opstamp") == meta["opstamp"]
    ]
    return len(meta["segments"]) == SMALL_SEGMENTS + 2 and len(stamped) == SMALL_SEGMENTS


def _fail_one_apply(generation: Generation, monkeypatch: pytest.MonkeyPatch) -> None:
    """An apply that fails after its writer opened: tantivy's rollback opens a new writer."""
    real = generation_module.to_tantivy

    def failing(doc: object) -> object:
        raise RuntimeError("injected: the disk filled up")

    monkeypatch.setattr(generation_module, "to_tantivy", failing)
    with pytest.raises(BackendUnavailable):
        generation.apply([Upsert(to_search_doc(raw_customer(2000), 1))])
    monkeypatch.setattr(generation_module, "to_tantivy", real)


@pytest.mark.parametrize("first_write", ["of a new writer", "after a rollback"])
def test_a_writers_first_delete_survives_a_merge_started_before_its_first_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_write: str
) -> None:
    for attempt in range(5):  # the dying commit's merge may, rarely, end before the exit
        path = tmp_path / str(attempt)
        path.mkdir()
        if _killed_writer(path):
            break
    else:
        raise AssertionError("never got 8 unmerged segments from the killed writer")

    target = raw_customer(100 + 2 * PER_SEGMENT)["_id"]  # in a small segment, not first
    generation = Generation(path)
    assert target in generation.all_versions()
    if first_write == "after a rollback":
        _fail_one_apply(generation, monkeypatch)
    generation.apply([Delete(target, 3)])  # the successor's first write: a hard delete
    generation.close()  # waits for the merge its commit started
    reopened = Generation(path)
    assert target not in reopened.all_versions(), "the old document survived its delete"
    assert reopened.stored_versions([target], tombstones=True) == {target: 3}
    assert reopened.duplicated() == []
    expected_live = 100 + SMALL_SEGMENTS * PER_SEGMENT + 1 - 1
    assert reopened.count() == expected_live
    # and the next writer works as usual: an update replaces the live document
    neighbour = raw_customer(100 + 2 * PER_SEGMENT + 2)
    reopened.apply([Upsert(to_search_doc(neighbour, 5))])
    assert reopened.stored_versions([neighbour["_id"]], tombstones=True) == {neighbour["_id"]: 5}
    assert reopened.count() == expected_live
