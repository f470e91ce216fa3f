"""A person's rights from the contact page: unlink their LINE account, delete their data."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from otodoke.campaigns.models import DeliveryRecipient
from otodoke.contacts import privacy
from otodoke.contacts.models import Contact
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.htmx import render_page
from otodoke.workspaces.roles import Permission


@require_POST
@workspace_view(Permission.EDIT)
def contact_unlink(request: HttpRequest, access: WorkspaceAccess, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=contact_id, workspace=access.workspace)
    try:
        privacy.unlink_contact(access.workspace, contact, actor=access.user)
    except privacy.PrivacyRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _(
                "The LINE account was unlinked. The customer record keeps its data; the LINE "
                "friend stays a friend, as a separate contact."
            ),
        )
    return redirect("web:contact", slug=access.workspace.slug, contact_id=contact.pk)


@require_http_methods(["GET", "POST"])
@workspace_view(Permission.DELETE_CONTACTS)
def contact_delete(request: HttpRequest, access: WorkspaceAccess, contact_id: int) -> HttpResponse:
    """GET: what will be deleted, and what stays (counts only). POST: delete for good."""
    contact = get_object_or_404(Contact, pk=contact_id, workspace=access.workspace)
    if request.method == "POST":
        label = str(contact)
        privacy.delete_contact(access.workspace, contact, actor=access.user)
        messages.success(
            request,
            _("%(contact)s was deleted with their personal data. The audit log records it.")
            % {"contact": label},
        )
        return redirect("web:contacts", slug=access.workspace.slug)
    summary = privacy.deletion_summary(contact)
    received = (
        DeliveryRecipient.objects.filter(
            delivery__campaign__workspace=access.workspace, contact_id=contact.pk
        )
        .values("delivery")
        .distinct()
        .count()
    )
    context = {
        "access": access,
        "section": "contacts",
        "contact": contact,
        "summary": summary,
        "received": received,
    }
    return render_page(request, "web/contacts/delete.html", context)
