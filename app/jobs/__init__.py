"""Background jobs: long work (imports, exports, duplicate scans) that outlives its request.

A route *submits* a job (:class:`Jobs`) and answers at once with the job's view; the process's
:class:`JobRunner` runs queued jobs one at a time on the runtime's loop, by the handler
registered for their kind (:func:`register`). Jobs are documents in the ``jobs`` collection, so
their state, progress and first errors survive the process; files (an upload, an export, an
error report) live in the job's directory under ``$CUSTOMERS_DATA_DIR/jobs/<id>/``.

A job never ends silently half-done: when the process stops or dies while one runs, a
*resumable* kind goes back to the queue with its last checkpoint (the handler continues from
there), any other kind ends ``failed`` with the reason.
"""

from app.jobs.context import JobCancelled, JobContext
from app.jobs.model import JobState
from app.jobs.registry import Handler, register
from app.jobs.runner import JobRunner
from app.jobs.service import Jobs

__all__ = ["Handler", "JobCancelled", "JobContext", "JobRunner", "JobState", "Jobs", "register"]
