"""Checks that IDs in a request name rows of the caller's workspace."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from otodoke.api.errors import ApiError
from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace


def require_contacts(workspace: Workspace, ids: Sequence[int], field: str = "contact_ids") -> None:
    """422 naming the path of every ID that is no contact of `workspace` (`contact_ids[2]`),
    in one query; nothing to do when all are known."""
    known = set(
        Contact.objects.in_workspace(workspace).filter(pk__in=ids).values_list("pk", flat=True)
    )
    missing = [
        (f"{field}[{i}]", _("No such contact")) for i, pk in enumerate(ids) if pk not in known
    ]
    if missing:
        raise ApiError(422, _("The request is not valid"), details=missing)
