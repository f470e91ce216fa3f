"""Settings: general (plan, time zone, approval), the LINE channel, the audit log, webhook
events. Members and invitations are in `members.py`."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otodoke.core.crypto import Secret
from otodoke.line import verify
from otodoke.line.failures import retry_event_now, unfinished_events
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.web import audit_text, services
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.forms import (
    AuditFilterForm,
    CredentialsForm,
    WorkspaceSettingsForm,
)
from otodoke.web.htmx import render_page
from otodoke.web.line_info import verify_webhook
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import update_credentials

AUDIT_PAGE_SIZE = 50
WEBHOOK_PAGE_SIZE = 50


def _masked(value: Secret | None) -> str:
    return value.masked() if value is not None else _("Not set yet")


def _context(access: WorkspaceAccess, tab: str, **extra: object) -> dict[str, object]:
    return {"access": access, "section": "settings", "tab": tab, **extra}


@workspace_view(Permission.MANAGE_SETTINGS)
def general(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    workspace = access.workspace
    form = WorkspaceSettingsForm(
        request.POST or None,
        initial={
            "plan": workspace.plan,
            "time_zone": workspace.time_zone,
            "require_approval": workspace.require_approval,
            "link_keyword": workspace.link_keyword,
        },
    )
    if request.method == "POST" and form.is_valid():
        changed = services.update_workspace_settings(
            workspace, actor=request.user, **form.cleaned_data
        )
        if changed:
            messages.success(request, _("Settings saved."))
        else:
            messages.info(request, _("Nothing changed."))
        return redirect("web:settings", slug=workspace.slug)
    return render_page(request, "web/settings/general.html", _context(access, "general", form=form))


@workspace_view(Permission.MANAGE_SETTINGS)
def channel(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    workspace = access.workspace
    form = CredentialsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        update_credentials(
            workspace,
            actor=request.user,
            channel_secret=form.cleaned_data["channel_secret"] or None,
            channel_access_token=form.cleaned_data["channel_access_token"] or None,
            channel_id=form.cleaned_data["channel_id"] or None,
        )
        messages.success(request, _("Channel credentials replaced."))
        return redirect("web:settings_channel", slug=workspace.slug)
    context = _context(
        access,
        "channel",
        form=form,
        secret_masked=_masked(workspace.channel_secret),
        token_masked=_masked(workspace.channel_access_token),
        unknown_links=verify.unknown_links(workspace).count(),
        link_check=verify.latest_check(workspace),
    )
    return render_page(request, "web/settings/channel.html", context)


@require_POST
@workspace_view(Permission.MANAGE_SETTINGS)
def link_check(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """Queue a check of the unknown linked IDs against LINE (issue 12.5); the page shows it."""
    workspace = access.workspace
    if not verify.unknown_links(workspace).exists():
        messages.info(request, _("No linked LINE ID has an unknown friend status."))
    else:
        verify.request_check(workspace, requested_by=request.user.get_username())
        messages.success(request, _("Checking with LINE. The result appears below."))
    return redirect("web:settings_channel", slug=workspace.slug)


@require_POST
@workspace_view(Permission.MANAGE_SETTINGS)
def channel_verify(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    check = verify_webhook(access.workspace)
    context = _context(access, "channel", check=check, form=CredentialsForm())
    context["secret_masked"] = _masked(access.workspace.channel_secret)
    context["token_masked"] = _masked(access.workspace.channel_access_token)
    return render_page(request, "web/settings/channel.html", context, partial="verify")


@workspace_view(Permission.MANAGE_SETTINGS)
def audit(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    entries = services.audit_entries(access.workspace, form.to_filter())
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    rows = [(entry, audit_text.detail_phrases(entry)) for entry in page]
    context = _context(access, "audit", form=form, page=page, rows=rows, query=query.urlencode())
    return render_page(request, "web/settings/audit.html", context, partial="rows")


@workspace_view(Permission.MANAGE_SETTINGS)
def webhook_events(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """Webhook events that failed or wait for processing, with a retry button each."""
    events = unfinished_events(access.workspace)
    page = Paginator(events, WEBHOOK_PAGE_SIZE).get_page(request.GET.get("page"))
    context = _context(access, "webhooks", page=page)
    return render_page(request, "web/settings/webhooks.html", context)


@require_POST
@workspace_view(Permission.MANAGE_SETTINGS)
def webhook_event_retry(
    request: HttpRequest, access: WorkspaceAccess, event_id: int
) -> HttpResponse:
    try:
        result = retry_event_now(access.workspace, event_id, actor=access.user)
    except WebhookEvent.DoesNotExist:
        messages.info(request, _("This event has already been processed."))
    else:
        if result.status == WebhookStatus.FAILED:
            messages.error(request, _("Processing failed again; the error is shown below."))
        else:
            messages.success(request, _("The event was processed."))
    return redirect("web:settings_webhooks", slug=access.workspace.slug)
