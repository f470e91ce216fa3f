"""The workspace's saved test recipients (staff's own LINE accounts): the default of every
test send, so a first click never messages an arbitrary customer."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from otodoke.campaigns.models import TestRecipient
from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import AnyUser, require

SEARCH_LIMIT = 20


def saved(workspace: Workspace) -> list[Contact]:
    """The saved test recipients' contacts, in the order they were added."""
    ids = TestRecipient.objects.filter(workspace=workspace).values_list("contact_id", flat=True)
    by_id = Contact.objects.in_workspace(workspace).in_bulk(list(ids))
    return [by_id[pk] for pk in ids if pk in by_id]


def add(workspace: Workspace, contact_id: int, *, actor: AnyUser) -> Contact:
    require(actor, workspace, Permission.SEND)
    contact = Contact.objects.in_workspace(workspace).filter(pk=contact_id).first()
    if contact is None:
        raise ValidationError(_("No such contact in this workspace."))
    if not contact.line_user_id:
        raise ValidationError(
            _("%(name)s has no LINE account, so a test cannot reach them.") % {"name": contact}
        )
    user = actor if actor.is_authenticated else None
    TestRecipient.objects.get_or_create(
        workspace=workspace, contact=contact, defaults={"added_by": user}
    )
    return contact


def remove(workspace: Workspace, contact_id: int, *, actor: AnyUser) -> None:
    require(actor, workspace, Permission.SEND)
    TestRecipient.objects.filter(workspace=workspace, contact_id=contact_id).delete()


def search(workspace: Workspace, query: str) -> list[Contact]:
    """Friends a test could reach whose name, kana, LINE name or customer number matches."""
    query = query.strip()
    if not query:
        return []
    matches = (
        Q(name__icontains=query)
        | Q(name_kana__icontains=query)
        | Q(line_display_name__icontains=query)
        | Q(external_id__icontains=query)
    )
    found = Contact.objects.in_workspace(workspace).reachable().filter(matches)
    return list(found.order_by("name", "pk")[:SEARCH_LIMIT])
