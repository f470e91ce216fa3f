"""The browser side of a CSV import: keep the upload, propose a column mapping from the
headers (the importer's own synonyms, so the proposal is what the importer would do by itself),
then hand the file to the contacts app's ImportJob and background task."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from otodoke.contacts import jobs
from otodoke.contacts.imports.reading import (
    ImportFileError,
    header_key,
    open_csv,
    preview_rows,
    resolve_mapping,
)
from otodoke.contacts.imports.rows import CONTACT_SYNONYMS, EVENT_SYNONYMS, LINK_SYNONYMS
from otodoke.contacts.models import ImportJob, ImportKind
from otodoke.contacts.tasks import run_import_job
from otodoke.web.pii import mask_text
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import require

# Mirrors the importer's choice of synonyms and where unknown columns may go (runner._run).
SYNONYMS: dict[ImportKind, tuple[dict[str, tuple[str, ...]], str]] = {
    ImportKind.CONTACTS: (CONTACT_SYNONYMS, "attributes"),
    ImportKind.EVENTS: (EVENT_SYNONYMS, "properties"),
    ImportKind.LINKS: (LINK_SYNONYMS, ""),
}
IGNORE = "-"
SAMPLE_ROWS = 3


def upload_dir(workspace: Workspace) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / str(workspace.pk)


def store_upload(workspace: Workspace, upload: UploadedFile[bytes]) -> str:
    """Save the file under an unguessable name; returns that name (the page's handle on it).

    The file is private (0600 in a 0700 folder): it is a customer list. Uploads older than
    UPLOAD_RETENTION_HOURS that were never imported are deleted here; imported ones are deleted
    by the import itself."""
    folder = upload_dir(workspace)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    prune_uploads(workspace)
    handle = secrets.token_hex(12) + ".csv"
    fd = os.open(folder / handle, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return handle


def prune_uploads(workspace: Workspace, *, now: float | None = None) -> int:
    """Delete this workspace's uploads older than UPLOAD_RETENTION_HOURS (left at the mapping
    step); returns how many. Error reports (errors/) are not uploads and are kept."""
    cutoff = (time.time() if now is None else now) - settings.UPLOAD_RETENTION_HOURS * 3600
    removed = 0
    for path in upload_dir(workspace).glob("*.csv"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another request pruned it first
            continue
    return removed


def stored_path(workspace: Workspace, handle: str) -> Path:
    """The stored file for `handle`; refuses anything that is not one of our own names."""
    if not handle.endswith(".csv") or not handle[:-4].isalnum():
        raise ImportFileError(_("This upload is no longer available. Upload the file again."))
    path = upload_dir(workspace) / handle
    if not path.is_file():
        raise ImportFileError(_("This upload is no longer available. Upload the file again."))
    return path


@dataclass(frozen=True)
class ColumnProposal:
    index: int
    header: str
    field: str  # a field name, IGNORE, or "<extras prefix>" to keep it as an attribute
    samples: list[str]


@dataclass(frozen=True)
class MappingProposal:
    kind: ImportKind
    encoding: str
    columns: list[ColumnProposal]
    choices: list[str]  # the fields a column may feed, for the select boxes
    extras: str  # "" when unknown columns cannot be kept


def propose_mapping(kind: ImportKind, path: Path) -> MappingProposal:
    synonyms, extras = SYNONYMS[kind]
    source = open_csv(path)
    guessed = resolve_mapping(source.header, synonyms, {}, extras_prefix=extras or "-")
    field_of = {index: name for name, cols in guessed.fields.items() for index in cols}
    samples: list[list[str]] = [[] for _ in source.header]
    for cells in preview_rows(source, SAMPLE_ROWS):
        for index, cell in enumerate(cells[: len(samples)]):
            samples[index].append(cell)
    columns = [
        # Unmatched columns are left out, as the importer does when not told otherwise.
        ColumnProposal(index, header, field_of.get(index, IGNORE), samples[index])
        for index, header in enumerate(source.header)
    ]
    return MappingProposal(kind, source.encoding, columns, list(synonyms), extras)


def explicit_mapping(proposal: MappingProposal, chosen: Mapping[int, str]) -> dict[str, str]:
    """The importer's mapping (column header → field) for the columns the user changed.

    Columns left as proposed are not repeated: the importer then applies its own priority
    when several columns feed one field (携帯電話 before 電話番号)."""
    allowed = {*proposal.choices, IGNORE} | ({proposal.extras} if proposal.extras else set())
    mapping: dict[str, str] = {}
    for column in proposal.columns:
        target = chosen.get(column.index, column.field)
        if target not in allowed:
            raise ImportFileError(_("Unknown field “%(field)s”") % {"field": target})
        if target != column.field:
            mapping[column.header] = target
    return mapping


def start_import(
    workspace: Workspace,
    *,
    kind: ImportKind,
    handle: str,
    mapping: dict[str, str],
    actor: User,
    tag_separator: str = "auto",
    file_name: str = "",
) -> ImportJob:
    require(actor, workspace, Permission.EDIT)
    path = stored_path(workspace, handle)
    options: dict[str, object] = {"mapping": mapping, "tag_separator": tag_separator}
    with transaction.atomic():
        # The upload is ours (not a file the user keeps): the job deletes it when it ends.
        options["delete_file"] = True
        job = jobs.create_job(
            workspace, kind, path, created_by=actor, options=options, file_name=file_name
        )
        # The worker must see the committed job row.
        transaction.on_commit(lambda: run_import_job.enqueue(job.pk, str(path)))
    return job


# --- what the job page shows -----------------------------------------------------------------

# Fields whose values are personal data (Permission.VIEW_PII), as in the contact pages.
PII_FIELDS = ("phone", "email", "line_user_id")


def _pii_columns(job: ImportJob) -> set[str]:
    """Header keys of the job's columns that feed a PII field: by the importer's synonyms,
    by the mapping the user chose, or by the field's own name (a row error names the field
    when the file had no such column)."""
    synonyms = SYNONYMS[ImportKind(job.kind)][0]
    names = {n for f in PII_FIELDS for n in (f, *synonyms.get(f, ()))}
    mapping = (job.options or {}).get("mapping") or {}
    names |= {column for column, target in mapping.items() if str(target).strip() in PII_FIELDS}
    return {header_key(n) for n in names}


def visible_errors(job: ImportJob, *, sees_pii: bool) -> list[dict[str, object]]:
    """The job's row errors for the page: as stored for a member with Permission.VIEW_PII;
    otherwise every phone, e-mail and LINE user ID in them is masked, as on the contact pages
    (errors.csv, which quotes whole rows, is refused to such a member altogether)."""
    errors = [e for e in job.errors if isinstance(e, dict)]
    if sees_pii:
        return errors
    pii_columns = _pii_columns(job)
    return [
        {
            **error,
            "message": mask_text(
                str(error.get("message", "")),
                quoted=header_key(str(error.get("column", ""))) in pii_columns,
            ),
        }
        for error in errors
    ]


def visible_failure(job: ImportJob, *, sees_pii: bool) -> str:
    return job.failure if sees_pii else mask_text(job.failure)
