"""Exports for LINE's own upload screens, gated by Permission.EXPORT and audited.

* ``line-ids``: LINE Official Account Manager's user-ID upload: one user ID per line, no header.
* ``emails`` / ``phones``: Business Manager audience files (LINE_PLATFORM.md §13, seed 001):
  one value per line, no header, CSV/TXT, ≤1,500,000 rows and ≤20 MB raw / ≤60 MB pre-hashed
  per file; optional SHA-256 pre-hashing of the normalised value (lowercase hex).

Normalisation (our policy; LINE documents no normalisation before hashing):

* e-mail: trim, lowercase; then it must be ≤120 characters of ``a-z 0-9 _ - . @``. Anything
  else (``+``, spaces, non-ASCII…) cannot be uploaded and is reported, never silently dropped.
* phone: stored as E.164; only numbers of the organisation's country (+81 by default) can be
  uploaded, written as domestic digits without country code or separators (+81 90-1234-5678 →
  09012345678). LINE's phone rules are only known from the seed manual; whether LINE hashes
  the domestic form or E.164 is unknown, so raw upload (LINE hashes it) is the safer choice.

Contacts without consent are skipped and reported. The report file names contact IDs and a
reason, never the values; the audit log gets counts only.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from otodoke.contacts.models import Contact
from otodoke.segments.models import Audience, AudienceMember, Segment
from otodoke.segments.services import contacts_matching
from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import record_audit, require

AnyUser = User | AnonymousUser

MAX_ROWS = 1_500_000
MAX_RAW_BYTES = 20_000_000  # "20MB": read as 10^6 bytes, the stricter reading
MAX_HASHED_BYTES = 60_000_000
MAX_EMAIL_LENGTH = 120
_EMAIL_CHARS = re.compile(r"^[a-z0-9_.\-@]+$")


class ExportKind(StrEnum):
    LINE_IDS = "line-ids"
    EMAILS = "emails"
    PHONES = "phones"


@dataclass(frozen=True)
class ExportLimits:
    max_rows: int = MAX_ROWS
    max_bytes: int | None = MAX_RAW_BYTES

    @classmethod
    def for_upload(cls, *, hashed: bool) -> ExportLimits:
        return cls(MAX_ROWS, MAX_HASHED_BYTES if hashed else MAX_RAW_BYTES)


@dataclass(frozen=True)
class ExportSource:
    """Exactly one of a saved segment, a definition or an audience."""

    segment: Segment | None = None
    definition: Any = None
    audience: Audience | None = None

    def describe(self) -> dict[str, Any]:
        if self.segment is not None:
            return {"segment_id": self.segment.pk}
        if self.audience is not None:
            return {"audience_id": self.audience.pk}
        return {"definition": True}

    def contacts(self, workspace: Workspace, now: dt.datetime | None) -> QuerySet[Contact]:
        given = [x for x in (self.segment, self.definition, self.audience) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of segment, definition and audience")
        if self.audience is not None:
            if self.audience.workspace_id != workspace.pk:
                raise ValueError("audience belongs to another workspace")
            members = AudienceMember.objects.filter(audience=self.audience).values("contact_id")
            return Contact.objects.filter(workspace=workspace, pk__in=members)
        return contacts_matching(workspace, self.segment or self.definition, now=now)


@dataclass
class ExportResult:
    kind: ExportKind
    hashed: bool
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    report: Path | None = None
    # LINE-ID files: rows whose friend state Otodoke does not know (no follow seen yet, e.g. an
    # imported link). They are in the file, LINE delivers only to friends, and segments do not
    # count them as reachable: `rows - unknown_friend_state` is the segment's reachable count.
    unknown_friend_state: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "hashed": self.hashed,
            "files": [str(p) for p in self.files],
            "rows": self.rows,
            "skipped": dict(self.skipped),
            "unknown_friend_state": self.unknown_friend_state,
            "report": str(self.report) if self.report else None,
        }


# --- normalisation ------------------------------------------------------------------------


def normalise_email(value: str) -> tuple[str | None, str | None]:
    """(value, None) or (None, reason)."""
    v = value.strip().lower()
    if not v:
        return None, "no_email"
    if len(v) > MAX_EMAIL_LENGTH:
        return None, "too_long"
    if not _EMAIL_CHARS.match(v) or v.count("@") != 1:
        return None, "invalid_characters"
    return v, None


def normalise_phone(value: str, *, country_code: str = "81") -> tuple[str | None, str | None]:
    v = value.strip()
    if not v:
        return None, "no_phone"
    if not v.startswith("+" + country_code):
        return None, "foreign_number"
    national = v[1 + len(country_code) :]
    if not national.isdigit():
        return None, "invalid_characters"
    return "0" + national, None


def normalise_line_user_id(value: str | None) -> tuple[str | None, str | None]:
    return (value, None) if value else (None, "no_line_user_id")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- files --------------------------------------------------------------------------------


class SplitWriter:
    """Writes lines into `stem-001.csv`, `stem-002.csv`… starting a new file before a line would
    pass the row or byte limit."""

    def __init__(self, out_dir: Path, stem: str, limits: ExportLimits) -> None:
        self.out_dir, self.stem, self.limits = out_dir, stem, limits
        self.files: list[Path] = []
        self._handle: IO[bytes] | None = None
        self._rows = self._bytes = 0

    def write(self, value: str) -> None:
        line = (value + "\n").encode()
        full = self._handle is None or self._rows >= self.limits.max_rows
        if self.limits.max_bytes is not None and self._bytes + len(line) > self.limits.max_bytes:
            full = True
        if full:
            self._roll()
        assert self._handle is not None
        self._handle.write(line)
        self._rows += 1
        self._bytes += len(line)

    def _roll(self) -> None:
        self.close()
        path = self.out_dir / f"{self.stem}-{len(self.files) + 1:03d}.csv"
        self._handle = path.open("wb")
        self.files.append(path)
        self._rows = self._bytes = 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


_COLUMN = {
    ExportKind.LINE_IDS: "line_user_id",
    ExportKind.EMAILS: "email",
    ExportKind.PHONES: "phone",
}


def _rows(
    contacts: QuerySet[Contact], column: str
) -> Iterator[tuple[int, str | None, bool, str, Any]]:
    yield from (
        contacts.order_by("pk")
        .values_list("pk", "external_id", "marketing_consent", "line_status", column)
        .iterator(chunk_size=5000)
    )


def export_contacts(
    workspace: Workspace,
    kind: ExportKind,
    *,
    source: ExportSource,
    actor: AnyUser | None,
    out_dir: Path,
    hashed: bool = False,
    limits: ExportLimits | None = None,
    now: dt.datetime | None = None,
    actor_name: str | None = None,
    country_code: str = "81",
) -> ExportResult:
    """Write the upload file(s) and a report of every contact left out, then audit the export.
    Raises PermissionDenied unless `actor` has Permission.EXPORT in the workspace.

    `actor=None` is a caller that is not a staff user and checked Permission.EXPORT itself (an
    API token's `export` scope); it must name itself in `actor_name`, so the audit log always
    says who exported."""
    if actor is None:
        if not actor_name:
            raise ValueError("an export without a user needs actor_name for the audit log")
    else:
        require(actor, workspace, Permission.EXPORT)
    if kind == ExportKind.LINE_IDS and hashed:
        raise ValueError("LINE user IDs are uploaded as they are, never hashed")
    limits = limits or ExportLimits.for_upload(hashed=hashed)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{workspace.slug}-{kind}" + ("-sha256" if hashed else "")
    writer = SplitWriter(out_dir, stem, limits)
    result = ExportResult(kind=kind, hashed=hashed)
    seen: set[str] = set()
    report_path = out_dir / f"{stem}-report.csv"
    with report_path.open("w", newline="", encoding="utf-8") as report_file:
        report = csv.writer(report_file)
        report.writerow(["contact_id", "external_id", "reason"])
        try:
            for pk, external_id, consent, status, raw in _rows(
                source.contacts(workspace, now), _COLUMN[kind]
            ):
                value, reason = _normalise(kind, raw or "", country_code)
                if value is not None and not consent:
                    value, reason = None, "no_consent"
                # A friend who blocked the account gets nothing from an OA Manager audience;
                # leaving them out makes the file agree with the segment's reachable count.
                if value is not None and kind == ExportKind.LINE_IDS and status == "blocked":
                    value, reason = None, "blocked"
                if value is not None and value in seen:
                    value, reason = None, "duplicate"
                if value is None:
                    assert reason is not None
                    result.skipped[reason] += 1
                    report.writerow([pk, external_id or "", reason])
                    continue
                seen.add(value)
                writer.write(sha256_hex(value) if hashed else value)
                result.rows += 1
                if kind == ExportKind.LINE_IDS and status != "following":
                    result.unknown_friend_state += 1
        finally:
            writer.close()
    result.files = writer.files
    result.report = report_path
    record_audit(
        workspace,
        AuditAction.EXPORTED,
        actor=actor,
        label=actor_name,
        target=str(kind),
        details={
            "kind": str(kind),
            "source": source.describe(),
            "hashed": hashed,
            "rows": result.rows,
            "files": len(result.files),
            "skipped": dict(result.skipped),
            "unknown_friend_state": result.unknown_friend_state,
        },
    )
    return result


def _normalise(kind: ExportKind, raw: str, country_code: str) -> tuple[str | None, str | None]:
    if kind == ExportKind.EMAILS:
        return normalise_email(raw)
    if kind == ExportKind.PHONES:
        return normalise_phone(raw, country_code=country_code)
    return normalise_line_user_id(raw)
