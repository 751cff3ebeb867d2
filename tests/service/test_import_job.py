"""The import as a job: it runs, and a stopped one resumes from its checkpoint exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.jobs import register
from app.service.importing import engine
from app.service.importing.job import IMPORT_JOB, UPLOAD_NAME, run_import_job
from tests.service.import_support import raw_customers, shopify
from tests.service.test_jobs import Harness, _ended

ROWS = [{"Email": f"c{i}@x.com", "Tags": "t"} for i in range(27)] + [{"Email": "x" * 400}] * 3


def submit(jobs: Harness, data: bytes) -> tuple[str, Path]:
    register(IMPORT_JOB, run_import_job, resumable=True)
    job_id, directory = jobs.jobs.reserve(IMPORT_JOB)
    (directory / UPLOAD_NAME).write_bytes(data)
    params = {"format": "shopify", "mode": "upsert", "dry_run": False, "source_name": "s.csv"}
    jobs.service.run(jobs.jobs.submit(job_id, IMPORT_JOB, params, created_by="apk_1"))
    return job_id, directory


def test_a_stopped_import_job_resumes_and_counts_every_row_once(service, tmp_path, monkeypatch):
    jobs = Harness(service, tmp_path)
    monkeypatch.setattr(engine, "BATCH_ROWS", 4)
    slow = engine.import_customers_batch

    async def slowly(*args, **kwargs):
        await asyncio.sleep(0.2)  # so that the runner is stopped in the middle of the file
        return await slow(*args, **kwargs)

    monkeypatch.setattr(engine, "import_customers_batch", slowly)
    job_id, directory = submit(jobs, shopify(*ROWS[27:], *ROWS[:27]))  # the bad rows first

    view = jobs.run_until(lambda v: v["progress"]["done"] >= 12, job_id)
    assert view["state"] == "queued"  # the runner stopped: back in the queue, to resume
    stopped_at = view["progress"]["done"]
    assert stopped_at < len(ROWS)

    view = jobs.run_until(_ended, job_id)
    assert view["state"] == "succeeded", view
    assert view["counts"] == {"created": 27, "updated": 0, "unchanged": 0, "failed": 3,
                              "groups_created": 1}  # fmt: skip
    assert view["result"]["rows"] == len(ROWS) and view["result"]["has_errors"]
    assert [e["line"] for e in view["errors"]] == [2, 3, 4]  # reported before the stop
    assert len(raw_customers(service)) == 27
    report = (directory / "errors.csv").read_text().splitlines()
    assert len(report) == 1 + 3  # the header once, each failed row once
    assert [line.split(",")[-3] for line in report[1:]] == ["2", "3", "4"]


def test_a_resumed_job_cuts_its_error_file_back_to_the_checkpoint(service, tmp_path, monkeypatch):
    """A runner died after writing a failed row to the error file but before saving the
    checkpoint of that batch: the row is reported again by the resumed job, and only once."""
    jobs = Harness(service, tmp_path)
    monkeypatch.setattr(engine, "BATCH_ROWS", 2)
    rows = [{"Email": "x" * 400}, {"Email": "a@x.com"}, {"Email": "y" * 400}, {"Email": "b@x.com"}]
    job_id, directory = submit(jobs, shopify(*rows))
    first = "First Name,Last Name,Email,import_error_line,import_error_field,import_error_message"
    kept = "\r\n".join([first, "a,b,c,2,Email,bad", ""])  # what the checkpoint covers
    (directory / "errors.csv").write_text(kept + "left,over,row,4,Email,bad\r\n", newline="")
    checkpoint = {"rows": 2, "error_bytes": len(kept.encode()),
                  "counts": {"created": 1, "updated": 0, "unchanged": 0, "failed": 1,
                             "groups_created": 0}}  # fmt: skip

    async def die_after_the_first_batch() -> None:
        claimed = await jobs.store.claim(jobs.runner.node, "dead-owner", 0.1)
        assert claimed is not None and claimed["_id"] == job_id
        await jobs.store.update_running(job_id, {"checkpoint": checkpoint})
        await asyncio.sleep(0.2)

    jobs.service.run(die_after_the_first_batch())
    view = jobs.run_until(_ended, job_id)
    assert view["state"] == "succeeded", view
    assert view["counts"]["failed"] == 2 and view["counts"]["created"] == 2
    report = (directory / "errors.csv").read_text().splitlines()
    assert report[:2] == [first, "a,b,c,2,Email,bad"] and len(report) == 3
    assert report[2].endswith(
        ",4,Email,Invalid request: Field 'email' must be at most 320 characters"
    )
