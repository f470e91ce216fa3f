"""Editing one contact from its page: fields and custom attributes, tags, consent."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otodoke.contacts import editing
from otodoke.contacts.models import Contact
from otodoke.web import contacts as queries
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.forms_contact_edit import ConsentForm, ContactEditForm, TagForm
from otodoke.web.htmx import render_page
from otodoke.workspaces.roles import Permission


def _contact(access: WorkspaceAccess, contact_id: int) -> Contact:
    return get_object_or_404(Contact, pk=contact_id, workspace=access.workspace)


def _back(access: WorkspaceAccess, contact: Contact) -> HttpResponse:
    return redirect("web:contact", slug=access.workspace.slug, contact_id=contact.pk)


@workspace_view(Permission.EDIT)
def contact_edit(request: HttpRequest, access: WorkspaceAccess, contact_id: int) -> HttpResponse:
    contact = _contact(access, contact_id)
    include_pii = access.can(Permission.VIEW_PII)
    form = ContactEditForm(request.POST or None, contact=contact, include_pii=include_pii)
    if request.method == "POST" and form.is_valid():
        try:
            changed = editing.update_contact(
                contact, form.values(), attributes=form.cleaned_data["attributes"]
            )
        except editing.EditRefused as exc:
            form.add_error(exc.field, str(exc))
        else:
            if changed:
                messages.success(request, _("Contact saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return _back(access, contact)
    context = {
        "access": access,
        "section": "contacts",
        "card": queries.contact_card(contact, show_pii=include_pii),
        "form": form,
    }
    status = 400 if form.is_bound else 200
    return render_page(request, "web/contacts/edit.html", context, status=status)


@require_POST
@workspace_view(Permission.EDIT)
def contact_tag_add(request: HttpRequest, access: WorkspaceAccess, contact_id: int) -> HttpResponse:
    contact = _contact(access, contact_id)
    form = TagForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form.errors["name"]))
        return _back(access, contact)
    name = form.cleaned_data["name"]
    if editing.add_tag(contact, name):
        messages.success(request, _("Tag “%(tag)s” added.") % {"tag": name})
    else:
        messages.info(request, _("This contact already has the tag “%(tag)s”.") % {"tag": name})
    return _back(access, contact)


@require_POST
@workspace_view(Permission.EDIT)
def contact_tag_remove(
    request: HttpRequest, access: WorkspaceAccess, contact_id: int
) -> HttpResponse:
    contact = _contact(access, contact_id)
    name = request.POST.get("name", "")
    if editing.remove_tag(contact, name):
        messages.success(request, _("Tag “%(tag)s” removed.") % {"tag": name})
    else:
        messages.info(request, _("This contact does not have the tag “%(tag)s”.") % {"tag": name})
    return _back(access, contact)


@require_POST
@workspace_view(Permission.EDIT)
def contact_consent(request: HttpRequest, access: WorkspaceAccess, contact_id: int) -> HttpResponse:
    contact = _contact(access, contact_id)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether this contact consents to marketing messages."))
        return _back(access, contact)
    consent = form.cleaned_data["consent"]
    if editing.set_consent(contact, consent, actor=access.user):
        if consent:
            messages.success(request, _("Marketing consent recorded."))
        else:
            messages.success(
                request, _("Opt-out recorded: this contact no longer receives campaigns.")
            )
    else:
        messages.info(request, _("Nothing was changed."))
    return _back(access, contact)
