"""ImportJob lifecycle: create, run (from the background task), record progress and errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from otodoke.contacts.imports import ImportFileError, ImportReport, run_import
from otodoke.contacts.models import ImportJob, ImportKind, ImportStatus
from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.services import record_audit

log = logging.getLogger(__name__)


def error_report_path(job: ImportJob) -> Path:
    """Where the job's full per-row error report (CSV) is written, in the data folder next to
    the workspace's uploads (in a folder of its own, so it is never taken for an upload)."""
    folder = Path(settings.MEDIA_ROOT) / "imports" / str(job.workspace_id) / "errors"
    return folder / f"job-{job.pk}.csv"


def create_job(
    workspace: Workspace,
    kind: ImportKind | str,
    path: Path,
    *,
    created_by: User | None = None,
    options: dict[str, Any] | None = None,
    file_name: str = "",
) -> ImportJob:
    """`file_name` is the name the user knows the file by (the upload's), else the path's."""
    return ImportJob.objects.create(
        workspace=workspace,
        kind=ImportKind(kind),
        file_name=(file_name or path.name)[:255],
        total_bytes=path.stat().st_size,
        options=options or {},
        created_by=created_by,
    )


def _save_counts(job: ImportJob, report: ImportReport, *fields: str) -> None:
    job.rows = report.rows
    job.created = report.created
    job.updated = report.updated
    job.unchanged = report.unchanged
    job.error_count = report.error_count
    summary = report.as_dict()
    job.errors = summary["errors"]
    job.mapping_used = summary["mapping"]
    job.tags_found = summary["tags"]
    job.save(
        update_fields=[
            "rows",
            "created",
            "updated",
            "unchanged",
            "error_count",
            "errors",
            "mapping_used",
            "tags_found",
            *fields,
        ]
    )


def run_job(job_id: int, path: str) -> str:
    """Run the import; an upload the job owns (``delete_file``, the UI's uploads) is deleted
    when the job ends, whatever its outcome: a customer list does not stay on disk."""
    try:
        return _run_job(job_id, path)
    finally:
        if (
            ImportJob.objects.filter(pk=job_id, options__delete_file=True)
            .exclude(status__in=[ImportStatus.PENDING, ImportStatus.RUNNING])
            .exists()
        ):
            Path(path).unlink(missing_ok=True)


def _run_job(job_id: int, path: str) -> str:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status != ImportStatus.PENDING:
            return str(job.status)
        job.status = ImportStatus.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])

    def progress(done: int, total: int, report: ImportReport) -> None:
        job.processed_bytes = done
        job.total_bytes = total
        # Chunks commit as they go, so the UI sees progress while the import runs.
        _save_counts(job, report, "processed_bytes", "total_bytes")

    options = job.options
    try:
        report = run_import(
            job.workspace,
            job.kind,
            Path(path),
            mapping=options.get("mapping") or {},
            encoding=options.get("encoding", "auto"),
            dry_run=bool(options.get("dry_run")),
            progress=progress,
            errors_path=error_report_path(job),
            tag_separator=options.get("tag_separator", "auto"),
        )
    except ImportFileError as exc:
        job.status = ImportStatus.FAILED
        job.failure = str(exc)
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "failure", "finished_at"])
        return str(job.status)
    except Exception as exc:
        log.exception("Import job %s failed", job_id)
        job.status = ImportStatus.FAILED
        job.failure = repr(exc)
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "failure", "finished_at"])
        raise
    job.status = ImportStatus.SUCCEEDED
    job.finished_at = timezone.now()
    job.processed_bytes = job.total_bytes
    _save_counts(job, report, "status", "finished_at", "processed_bytes")
    if not report.dry_run:
        record_audit(
            job.workspace,
            AuditAction.IMPORTED,
            actor=job.created_by,
            label=None if job.created_by else str(job.options.get("actor_label") or "import"),
            target=job.file_name,
            details={"job": job.pk, "kind": job.kind, **job.summary(), "errors": None},
        )
    return str(job.status)
