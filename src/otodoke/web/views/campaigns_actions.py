"""The buttons of a campaign page: test send, approve, send or schedule, cancel, resume,
confirm over quota, and "make a segment of the clickers". Each is a POST that calls one
service; the service re-checks the permission and the campaign's state, so a forged POST
from a role without the button is refused there too."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otodoke.campaigns import services, staff_recipients
from otodoke.campaigns.models import Campaign
from otodoke.segments.schema import DefinitionError
from otodoke.segments.services import save_segment
from otodoke.web import campaigns as figures
from otodoke.web import campaigns_results as results
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.campaigns_forms import ClickersSegmentForm, SendForm, TestSendForm
from otodoke.web.htmx import render_page
from otodoke.web.views.campaigns import detail_context
from otodoke.workspaces.roles import Permission


def _campaign(access: WorkspaceAccess, campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign, pk=campaign_id, workspace=access.workspace)


def _back(access: WorkspaceAccess, campaign: Campaign) -> HttpResponse:
    return redirect("web:campaign", slug=access.workspace.slug, campaign_id=campaign.pk)


def _refuse(
    request: HttpRequest,
    access: WorkspaceAccess,
    campaign: Campaign,
    error: ValidationError | str,
    *,
    status: int = 409,
    **forms: object,
) -> HttpResponse:
    """The campaign page again, with why the action was refused (and the form's errors)."""
    campaign.refresh_from_db()
    context = detail_context(request, access, campaign)
    text = "; ".join(error.messages) if isinstance(error, ValidationError) else error
    context.update(error=text, **forms)
    return render_page(request, "web/campaigns/detail.html", context, status=status)


@require_POST
@workspace_view(Permission.SEND)
def campaign_test(request: HttpRequest, access: WorkspaceAccess, campaign_id: int) -> HttpResponse:
    campaign = _campaign(access, campaign_id)
    form = TestSendForm(request.POST, workspace=access.workspace, candidates=[])
    if not form.is_valid():
        return _refuse(request, access, campaign, _("Choose who receives the test."), status=400)
    contacts = list(form.cleaned_data["contacts"])
    services.send_test(campaign, [c.pk for c in contacts], actor=access.user)
    messages.success(
        request,
        _("Test send queued for %(names)s.") % {"names": ", ".join(str(c) for c in contacts)},
    )
    return _back(access, campaign)


@require_POST
@workspace_view(Permission.SEND)
def campaign_test_recipient(
    request: HttpRequest, access: WorkspaceAccess, campaign_id: int, action: str
) -> HttpResponse:
    """Add a contact to, or remove one from, the workspace's saved test recipients (the
    buttons inside the test-send card; the campaign page is shown again)."""
    campaign = _campaign(access, campaign_id)
    raw = request.POST.get("contact", "")
    if action not in ("add", "remove") or not raw.isdigit():
        return _refuse(request, access, campaign, _("Choose a contact."), status=400)
    try:
        if action == "add":
            contact = staff_recipients.add(access.workspace, int(raw), actor=access.user)
            messages.success(request, _("%(name)s receives test sends now.") % {"name": contact})
        else:
            staff_recipients.remove(access.workspace, int(raw), actor=access.user)
            messages.success(request, _("Removed from the test recipients."))
    except ValidationError as exc:
        return _refuse(request, access, campaign, exc, status=400)
    return _back(access, campaign)


@require_POST
@workspace_view(Permission.APPROVE)
def campaign_approve(
    request: HttpRequest, access: WorkspaceAccess, campaign_id: int
) -> HttpResponse:
    campaign = _campaign(access, campaign_id)
    try:
        # Raises PermissionDenied (403) for the campaign's own author.
        services.approve_campaign(campaign, actor=access.user)
    except ValidationError as exc:
        return _refuse(request, access, campaign, exc)
    messages.success(request, _("Approved. It can be sent now."))
    return _back(access, campaign)


@require_POST
@workspace_view(Permission.SEND)
def campaign_send(request: HttpRequest, access: WorkspaceAccess, campaign_id: int) -> HttpResponse:
    """Two steps: 配信する shows what will happen (recipients, messages, quota and cost) and
    only the confirmation's own POST (`confirm=1`) creates the send. Works without JS."""
    campaign = _campaign(access, campaign_id)
    form = SendForm(request.POST)
    if not form.is_valid():
        return _refuse(
            request, access, campaign, _("Check when to send."), status=400, send_form=form
        )
    at = form.cleaned_data["at"] if form.cleaned_data["when"] == "later" else None
    if request.POST.get("confirm") != "1":
        try:
            services.check_sendable(campaign)
        except ValidationError as exc:
            return _refuse(request, access, campaign, exc)
        context = {
            "access": access,
            "section": "campaigns",
            "campaign": campaign,
            "send_form": form,
            "at": at,
            "estimate": figures.estimate(access.workspace, campaign.target),
            "message_count": len(campaign.messages),
        }
        return render_page(request, "web/campaigns/confirm_send.html", context)
    try:
        # Refuses an unapproved campaign where the workspace requires approval.
        services.send_campaign(campaign, actor=access.user, at=at)
    except ValidationError as exc:
        return _refuse(request, access, campaign, exc)
    if at is not None:
        when = formats.date_format(at, "DATETIME_FORMAT")
        messages.success(request, _("Scheduled for %(when)s.") % {"when": when})
    else:
        messages.success(request, _("Sending started."))
    return _back(access, campaign)


@require_POST
@workspace_view(Permission.SEND)
def campaign_cancel(
    request: HttpRequest, access: WorkspaceAccess, campaign_id: int
) -> HttpResponse:
    campaign = _campaign(access, campaign_id)
    try:
        services.cancel_campaign(campaign, actor=access.user)
    except ValidationError as exc:
        return _refuse(request, access, campaign, exc)
    messages.success(request, _("Cancelled. Messages not yet sent will not go out."))
    return _back(access, campaign)


@require_POST
@workspace_view(Permission.SEND)
def campaign_resume(
    request: HttpRequest, access: WorkspaceAccess, campaign_id: int
) -> HttpResponse:
    campaign = _campaign(access, campaign_id)
    try:
        services.resume_campaign(campaign, actor=access.user)
    except ValidationError as exc:
        return _refuse(request, access, campaign, exc)
    messages.success(request, _("Sending resumed."))
    return _back(access, campaign)


@require_POST
@workspace_view(Permission.APPROVE)
def campaign_confirm_quota(
    request: HttpRequest, access: WorkspaceAccess, campaign_id: int
) -> HttpResponse:
    campaign = _campaign(access, campaign_id)
    try:
        services.confirm_over_quota(campaign, actor=access.user)
    except ValidationError as exc:
        return _refuse(request, access, campaign, exc)
    messages.success(
        request, _("Confirmed: it goes to those who fit in this month's limit; the rest not.")
    )
    return _back(access, campaign)


@require_POST
@workspace_view(Permission.EDIT)
def campaign_clickers(
    request: HttpRequest, access: WorkspaceAccess, campaign_id: int
) -> HttpResponse:
    """A saved segment "clicked this campaign's link(s)", built by the segments service."""
    campaign = _campaign(access, campaign_id)
    live = services.live_delivery(campaign)
    links = results.live_links(live) if live else []
    form = ClickersSegmentForm(request.POST, links=links)
    if not links or not form.is_valid():
        return _refuse(
            request,
            access,
            campaign,
            _("Choose a name and a link."),
            status=400,
            clickers_form=form,
        )
    chosen = [link.pk for link in links if form.cleaned_data["link"] in (0, link.pk)]
    conditions = [{"kind": "clicked", "link_id": pk} for pk in chosen]
    where = conditions[0] if len(conditions) == 1 else {"kind": "any", "conditions": conditions}
    try:
        segment = save_segment(
            access.workspace,
            name=form.cleaned_data["name"],
            definition={"version": 1, "where": where},
            actor=access.user,
        )
    except DefinitionError as exc:
        form.add_error("name", "; ".join(p.message for p in exc.problems))
        return _refuse(request, access, campaign, str(exc), status=400, clickers_form=form)
    messages.success(request, _("Segment “%(name)s” created.") % {"name": segment.name})
    return redirect("web:segments", slug=access.workspace.slug)
