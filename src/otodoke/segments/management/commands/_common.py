"""Argument helpers shared by the segment, audience and export commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from otodoke.core import jsontext
from otodoke.segments.models import Audience, Segment
from otodoke.segments.schema import DefinitionError
from otodoke.workspaces.models import Workspace


def get_workspace(slug: str) -> Workspace:
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise CommandError(_("No workspace %(slug)r") % {"slug": slug})
    return workspace


def get_user(username: str | None) -> User | None:
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(_("No staff login named %(username)r") % {"username": username})
    assert isinstance(user, User)
    return user


def read_definition(path: str) -> Any:
    try:
        return jsontext.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(
            _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc}
        ) from exc


def get_segment(workspace: Workspace, segment_id: int) -> Segment:
    segment = Segment.objects.filter(workspace=workspace, pk=segment_id).first()
    if segment is None:
        raise CommandError(
            _("No segment %(id)s in %(workspace)s")
            % {"id": segment_id, "workspace": workspace.slug}
        )
    return segment


def get_audience(workspace: Workspace, audience_id: int) -> Audience:
    audience = Audience.objects.filter(workspace=workspace, pk=audience_id).first()
    if audience is None:
        raise CommandError(
            _("No audience %(id)s in %(workspace)s")
            % {"id": audience_id, "workspace": workspace.slug}
        )
    return audience


def definition_error(exc: DefinitionError) -> CommandError:
    return CommandError(
        _("Invalid segment definition:") + "\n" + "\n".join(f"  {p}" for p in exc.problems)
    )
