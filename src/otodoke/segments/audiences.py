"""Audiences: frozen lists of contacts from an uploaded user-ID file, a segment snapshot or a
manual pick."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction
from django.utils.translation import gettext as _

from otodoke.contacts.models import LINE_USER_ID_RE, Contact
from otodoke.segments.models import Audience, AudienceMember, AudienceSource, Segment
from otodoke.segments.services import DefinitionInput, contacts_matching, resolve_definition
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import require

AnyUser = User | AnonymousUser
_LOOKUP_CHUNK = 900  # under SQLite's default 999 bound parameters


@dataclass(frozen=True)
class LineProblem:
    line: int
    reason: str  # "invalid" | "unknown" | "duplicate"
    message: str


@dataclass
class UploadReport:
    """What a user-ID file contained. Values are not repeated here: line numbers point into the
    user's own file."""

    lines: int = 0
    matched: int = 0
    problems: list[LineProblem] = field(default_factory=list)
    audience: Audience | None = None

    @property
    def ok(self) -> bool:
        return not [p for p in self.problems if p.reason != "duplicate"]

    def as_json(self) -> dict[str, Any]:
        return {
            "audience_id": self.audience.pk if self.audience else None,
            "lines": self.lines,
            "matched": self.matched,
            "problems": [p.__dict__ for p in self.problems],
        }


def _creator(actor: AnyUser | None) -> User | None:
    return actor if isinstance(actor, User) and actor.is_authenticated else None


def _check(actor: AnyUser | None, workspace: Workspace) -> None:
    # None = a trusted internal caller (campaign machinery, tests); users need EDIT.
    if actor is not None:
        require(actor, workspace, Permission.EDIT)


def parse_user_id_file(data: bytes) -> tuple[list[tuple[int, str]], list[LineProblem], int]:
    """(line number, user ID) pairs, the bad lines, and the number of lines. The first CSV cell
    of each line is taken, so a one-column CSV and a TXT read alike; blank lines are skipped."""
    text = data.decode("utf-8-sig", errors="replace")
    ids: list[tuple[int, str]] = []
    problems: list[LineProblem] = []
    lines = 0
    # newline="" lets csv see bare "\r" line ends (old Mac / Excel exports); without it a
    # "\r" inside a line is a csv.Error, which reached callers as a crash.
    reader = csv.reader(io.StringIO(text, newline=""))
    for number in itertools.count(1):
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a line longer than csv's field size limit
            lines = number
            problems.append(LineProblem(number, "invalid", _("Unreadable line: %s") % exc))
            break
        lines = number
        cell = row[0].strip() if row else ""
        if not cell:
            continue
        if not LINE_USER_ID_RE.match(cell):
            problems.append(
                LineProblem(
                    number,
                    "invalid",
                    _("Not a LINE user ID (U followed by 32 lowercase hexadecimal characters)"),
                )
            )
            continue
        ids.append((number, cell))
    return ids, problems, lines


def create_audience_from_file(
    workspace: Workspace,
    *,
    name: str,
    file: IO[bytes] | Path | bytes,
    actor: AnyUser | None,
    strict: bool = False,
    file_name: str = "",
) -> UploadReport:
    """Read a TXT/CSV of LINE user IDs (one per line, no header) and freeze the contacts they
    name. Bad lines and IDs that match no contact of the workspace are reported with their
    line numbers. With `strict`, any such problem creates nothing."""
    _check(actor, workspace)
    if isinstance(file, Path):
        file_name = file_name or file.name
        data = file.read_bytes()
    elif isinstance(file, bytes):
        data = file
    else:
        data = file.read()
    pairs, problems, lines = parse_user_id_file(data)
    report = UploadReport(lines=lines)

    found: dict[str, int] = {}
    wanted = sorted({uid for _n, uid in pairs})
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
        rows = Contact.objects.filter(workspace=workspace, line_user_id__in=chunk).values_list(
            "line_user_id", "pk"
        )
        found.update((uid, pk) for uid, pk in rows if uid)
    seen: set[str] = set()
    contact_ids: list[int] = []
    for number, uid in pairs:
        if uid in seen:
            problems.append(LineProblem(number, "duplicate", _("Repeats an earlier line")))
            continue
        seen.add(uid)
        if uid not in found:
            problems.append(
                LineProblem(number, "unknown", _("No contact in this workspace has this user ID"))
            )
            continue
        contact_ids.append(found[uid])
    report.problems = sorted(problems, key=lambda p: p.line)
    report.matched = len(contact_ids)
    if strict and not report.ok:
        return report
    details = {
        "file_name": file_name,
        "lines": lines,
        "matched": report.matched,
        "invalid": sum(p.reason == "invalid" for p in problems),
        "unknown": sum(p.reason == "unknown" for p in problems),
    }
    report.audience = _create(
        workspace, name, AudienceSource.FILE, details, contact_ids, _creator(actor)
    )
    return report


@transaction.atomic
def _create(
    workspace: Workspace,
    name: str,
    source: AudienceSource,
    details: dict[str, Any],
    contact_ids: Iterable[int],
    creator: User | None,
) -> Audience:
    audience = Audience.objects.create(
        workspace=workspace, name=name, source=source, source_details=details, created_by=creator
    )
    ids = sorted(set(contact_ids))
    AudienceMember.objects.bulk_create(
        [AudienceMember(audience=audience, contact_id=pk) for pk in ids], batch_size=2000
    )
    audience.size = len(ids)
    audience.save(update_fields=["size"])
    return audience


def create_audience_from_contacts(
    workspace: Workspace, *, name: str, contact_ids: Iterable[int], actor: AnyUser | None
) -> Audience:
    """A manual pick. Every ID must be a contact of this workspace (else ValueError)."""
    _check(actor, workspace)
    ids = sorted(set(contact_ids))
    known: set[int] = set()
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[start : start + _LOOKUP_CHUNK]
        known.update(
            Contact.objects.filter(workspace=workspace, pk__in=chunk).values_list("pk", flat=True)
        )
    missing = [pk for pk in ids if pk not in known]
    if missing:
        raise ValueError(_("Not contacts of this workspace: %(ids)s") % {"ids": missing[:20]})
    return _create(
        workspace, name, AudienceSource.MANUAL, {"picked": len(ids)}, ids, _creator(actor)
    )


@transaction.atomic
def create_audience_from_segment(
    workspace: Workspace,
    *,
    name: str,
    definition: DefinitionInput,
    actor: AnyUser | None,
    now: dt.datetime | None = None,
) -> Audience:
    """Freeze who matches now. Members are copied with one INSERT … SELECT of the compiled
    segment query, so a million-contact snapshot never passes through Python."""
    _check(actor, workspace)
    parsed = resolve_definition(workspace, definition)
    details: dict[str, Any] = {
        "definition": parsed.model_dump(mode="json", exclude_none=True),
        "at": (now or dt.datetime.now(dt.UTC)).isoformat(),
    }
    if isinstance(definition, Segment):
        details["segment_id"] = definition.pk
        details["segment_name"] = definition.name
    audience = Audience.objects.create(
        workspace=workspace,
        name=name,
        source=AudienceSource.SEGMENT,
        source_details=details,
        created_by=_creator(actor),
    )
    matching = contacts_matching(workspace, definition, now=now).order_by().values_list("pk")
    select_sql, params = matching.query.sql_with_params()
    table = AudienceMember._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ("audience_id", "contact_id") '  # noqa: S608 - names are ours
            f"SELECT %s, sub.* FROM ({select_sql}) sub",
            (audience.pk, *params),
        )
    audience.size = AudienceMember.objects.filter(audience=audience).count()
    audience.save(update_fields=["size"])
    return audience
