"""Background tasks of the contacts app."""

from __future__ import annotations

from django.tasks import task

from otodoke.contacts import jobs
from otodoke.core import lanes


@task(queue_name=lanes.DEFAULT)
def run_import_job(job_id: int, path: str) -> str:
    """Run the ImportJob `job_id` on the stored file at `path`. Safe to run twice: a job that
    already finished is left alone, and an import re-applied changes nothing."""
    return jobs.run_job(job_id, path)
