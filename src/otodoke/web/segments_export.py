"""Exports from the browser: run the export service into a private folder, keep its numbers
next to the files, and serve the upload file (a zip when LINE's limits split it) and the report
of contacts left out.

The files hold personal data, so they live under MEDIA_ROOT/exports/<workspace>/<token>/ with
an unguessable token, are only served to members with Permission.EXPORT of that workspace, and
are deleted after EXPORT_TTL: an export is a hand-off to LINE's upload screen, not an archive.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from otodoke.segments.exports import ExportKind, ExportSource, export_contacts
from otodoke.workspaces.models import Workspace

EXPORT_TTL = dt.timedelta(hours=24)

KIND_LABELS: dict[str, Promise] = {
    ExportKind.LINE_IDS: _("LINE user IDs (LINE Official Account Manager)"),
    ExportKind.EMAILS: _("E-mail addresses (LINE Business Manager)"),
    ExportKind.PHONES: _("Phone numbers (LINE Business Manager)"),
}
REASON_LABELS: dict[str, Promise] = {
    "no_consent": _("No marketing consent"),
    "duplicate": _("Same value as another contact"),
    "no_line_user_id": _("No LINE user ID"),
    "blocked": _("Blocked the account (LINE would not deliver to them)"),
    "no_email": _("No e-mail address"),
    "no_phone": _("No phone number"),
    "too_long": _("E-mail address longer than 120 characters"),
    "invalid_characters": _("Characters LINE does not accept"),
    "foreign_number": _("Not a Japanese phone number"),
}


def export_root(workspace: Workspace) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / str(workspace.pk)


@dataclass(frozen=True)
class StoredExport:
    token: str
    folder: Path
    summary: dict[str, Any]

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.summary["kind"], self.summary["kind"]))

    @property
    def skipped(self) -> list[tuple[str, int]]:
        return [
            (str(REASON_LABELS.get(reason, reason)), n)
            for reason, n in sorted(self.summary["skipped"].items())
        ]

    @property
    def reachable(self) -> int:
        """The rows a segment counts as reachable on LINE (following friends)."""
        return int(self.summary["rows"]) - self.unknown_friend_state

    @property
    def unknown_friend_state(self) -> int:
        return int(self.summary.get("unknown_friend_state", 0))

    @property
    def skipped_total(self) -> int:
        return sum(self.summary["skipped"].values())

    @property
    def download(self) -> Path:
        return self.folder / str(self.summary["download"])

    @property
    def report(self) -> Path:
        return self.folder / str(self.summary["report"])


def _sweep(root: Path) -> None:
    """Delete exports older than EXPORT_TTL (run on each new export; no scheduler needed)."""
    if not root.is_dir():
        return
    limit = time.time() - EXPORT_TTL.total_seconds()
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)


def run_export(
    workspace: Workspace,
    *,
    kind: ExportKind,
    source: ExportSource,
    source_label: str,
    actor: User,
    hashed: bool,
) -> str:
    """Export (the service checks Permission.EXPORT and writes the audit entry) and return the
    token of the stored result."""
    root = export_root(workspace)
    _sweep(root)
    token = secrets.token_hex(16)
    folder = root / token
    result = export_contacts(
        workspace, kind, source=source, actor=actor, out_dir=folder, hashed=hashed
    )
    if len(result.files) == 1:
        download = result.files[0].name
    else:
        # Split at LINE's row or size limit (or empty): one zip, one download.
        download = f"{workspace.slug}-{kind}{'-sha256' if hashed else ''}.zip"
        with zipfile.ZipFile(folder / download, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in result.files:
                archive.write(path, path.name)
    assert result.report is not None
    summary = {
        "kind": str(kind),
        "hashed": hashed,
        "source": source_label,
        "rows": result.rows,
        "files": len(result.files),
        "skipped": dict(result.skipped),
        "unknown_friend_state": result.unknown_friend_state,
        "download": download,
        "report": result.report.name,
        "at": dt.datetime.now(dt.UTC).isoformat(),
    }
    (folder / "summary.json").write_text(json.dumps(summary, ensure_ascii=False))
    return token


def load_export(workspace: Workspace, token: str) -> StoredExport:
    if len(token) != 32 or not all(ch in "0123456789abcdef" for ch in token):
        raise Http404
    folder = export_root(workspace) / token
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError) as exc:
        raise Http404 from exc
    return StoredExport(token, folder, summary)
