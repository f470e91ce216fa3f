"""Campaign pages: the list, the composer with its live preview and estimate, one campaign
(preview, target, approval and sending controls, progress, results).

State changes (test send, approve, send, cancel, …) are in `campaigns_actions`; both call the
campaigns services, which check permissions and states again: the buttons a page hides are
only a courtesy."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otodoke.campaigns import services, staff_recipients
from otodoke.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryKind
from otodoke.contacts.models import Contact
from otodoke.web import campaigns as figures
from otodoke.web import campaigns_results as results
from otodoke.web import rich_forms
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.campaigns_forms import (
    CampaignForm,
    ClickersSegmentForm,
    MessageForm,
    SendForm,
    TargetForm,
    message_forms,
    target_initial,
)
from otodoke.web.htmx import render_page
from otodoke.workspaces.roles import Permission

PAGE_SIZE = 30
ACTIVE = (CampaignStatus.SCHEDULED, CampaignStatus.SENDING)
CANCELLABLE = (*ACTIVE, CampaignStatus.DRAFT, CampaignStatus.PAUSED)


@workspace_view()
def campaign_list(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    found = Campaign.objects.filter(workspace=access.workspace).select_related("created_by")
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "access": access,
        "section": "campaigns",
        "page": page,
        "rows": figures.campaign_rows(list(page)),
    }
    return render_page(request, "web/campaigns/list.html", context)


def _sample(access: WorkspaceAccess, raw: str | None) -> tuple[Contact | None, list[Contact]]:
    """The contact a preview is rendered for: the one asked for if it is in this workspace,
    else the first reachable friend."""
    choices = figures.sample_contacts(access.workspace)
    if raw and raw.isdigit():
        chosen = Contact.objects.filter(workspace=access.workspace, pk=int(raw)).first()
        if chosen is not None:
            if chosen not in choices:
                choices = [chosen, *choices]
            return chosen, choices
    return (choices[0] if choices else None), choices


def _messages_of(forms_: list[MessageForm]) -> list[dict[str, Any]]:
    """The message objects of the valid, used slots (invalid slots show their own errors)."""
    out = []
    for form in forms_:
        if form.is_valid():
            message = form.message()
            if message is not None and form.is_valid():
                out.append(message)
    return out


def _compose_context(
    access: WorkspaceAccess,
    campaign_form: CampaignForm,
    target_form: TargetForm,
    slots: list[MessageForm],
    messages: list[dict[str, Any]],
    sample_raw: str | None,
) -> dict[str, Any]:
    sample, samples = _sample(access, sample_raw)
    shown = figures.preview(access.workspace, messages, sample) if messages else None
    return {
        "access": access,
        "section": "campaigns",
        "form": campaign_form,
        "target_form": target_form,
        "slots": [
            (index, form, [i for i in (shown.issues if shown else []) if i.index == index])
            for index, form in enumerate(slots)
        ],
        "preview": shown,
        "samples": samples,
        "placeholders": figures.placeholders(access.workspace),
        "general_issues": [i for i in (shown.issues if shown else []) if i.index is None],
    }


@workspace_view(Permission.EDIT)
def campaign_new(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    copy_of = None
    if request.GET.get("copy", "").isdigit():
        copy_of = Campaign.objects.filter(
            workspace=access.workspace, pk=int(request.GET["copy"])
        ).first()
    return _compose(request, access, source=copy_of, editing=None)


@workspace_view(Permission.EDIT)
def campaign_edit(request: HttpRequest, access: WorkspaceAccess, campaign_id: int) -> HttpResponse:
    """The composer on an existing draft: saving changes it in place."""
    campaign = get_object_or_404(Campaign, pk=campaign_id, workspace=access.workspace)
    if campaign.status != CampaignStatus.DRAFT:
        flash.error(
            request,
            _(
                "This campaign is %(status)s and can no longer be edited; "
                "copy it to a new draft instead."
            )
            % {"status": campaign.get_status_display()},
        )
        return redirect("web:campaign", slug=access.workspace.slug, campaign_id=campaign.pk)
    return _compose(request, access, source=campaign, editing=campaign)


def _with_kept_parts(target: dict[str, Any], editing: Campaign | None) -> dict[str, Any]:
    """Editing keeps the target's parts the composer has no fields for (chosen contacts, an
    inline definition: drafts made from a click list or the API), so nobody drops silently."""
    if editing is None:
        return target
    shown = ("segment", "audience")
    for side in ("include", "exclude"):
        kept = [p for p in editing.target.get(side, []) if not any(k in p for k in shown)]
        if kept:
            target[side] = [*target.get(side, []), *kept]
    if target.get("include"):
        target.pop("all_friends", None)
    return target


def _unbound_copies(data: QueryDict, workspace: Any) -> tuple[CampaignForm, TargetForm]:
    campaign_form = CampaignForm(
        initial={
            "name": data.get("name", ""),
            "track_links": bool(data.get("track_links")),
            "notification_disabled": bool(data.get("notification_disabled")),
        }
    )
    lists = ("include_segments", "include_audiences", "exclude_segments", "exclude_audiences")
    target: dict[str, Any] = {name: data.getlist(name) for name in lists}
    target["all_friends"] = bool(data.get("all_friends"))
    return campaign_form, TargetForm(workspace=workspace, initial=target)


def _compose(
    request: HttpRequest,
    access: WorkspaceAccess,
    *,
    source: Campaign | None,
    editing: Campaign | None,
) -> HttpResponse:
    workspace = access.workspace
    data: QueryDict | None = request.POST if request.method == "POST" else None
    # A ready-made template or 「JSONで編集」 re-renders the page with that slot replaced;
    # nothing is saved.
    changed = rich_forms.with_preset(data) if data is not None else None
    if changed is not None:
        data = changed
    initial = None
    if source is not None:
        initial = {"name": source.name, "track_links": source.track_links}
        if editing is not None:
            initial["notification_disabled"] = source.notification_disabled
    campaign_form = CampaignForm(data, initial=initial)
    target_form = TargetForm(
        data, workspace=workspace, initial=target_initial(source.target) if source else None
    )
    if changed is not None:
        # Only a slot changed: the rest of the form keeps its values without error messages.
        campaign_form, target_form = _unbound_copies(changed, workspace)
    slots = message_forms(data, source.messages if source else None)
    messages = _messages_of(slots) if data else list(source.messages if source else [])
    status = 200
    if data is not None and changed is None:
        valid = campaign_form.is_valid() & target_form.is_valid()
        # Every slot validates (no short-circuit), so each shows its own errors.
        slot_checks = [form.is_valid() for form in slots]
        valid = all(slot_checks) and valid
        if valid and not messages:
            campaign_form.add_error(None, _("Add at least one message."))
        elif valid:
            fields = {
                "name": campaign_form.cleaned_data["name"],
                "messages": messages,
                "target": _with_kept_parts(target_form.target(), editing),
                "actor": access.user,
                "track_links": campaign_form.cleaned_data["track_links"],
                "notification_disabled": campaign_form.cleaned_data["notification_disabled"],
            }
            try:
                if editing is not None:
                    campaign = services.update_draft(editing, **fields)
                else:
                    campaign = services.create_campaign(workspace, **fields)
            except ValidationError as exc:
                # Message problems are shown next to their slots by the preview below.
                campaign_form.add_error(None, exc.messages)
            else:
                if editing is not None:
                    flash.success(request, _("Draft saved."))
                return redirect("web:campaign", slug=workspace.slug, campaign_id=campaign.pk)
        status = 400
    context = _compose_context(
        access, campaign_form, target_form, slots, messages, request.POST.get("sample")
    )
    context["editing"] = editing
    return render_page(request, "web/campaigns/compose.html", context, status=status)


@require_POST
@workspace_view(Permission.EDIT)
def compose_preview(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """The composer's chat preview, re-rendered by htmx as the staff member types."""
    slots = message_forms(request.POST)
    context = _compose_context(
        access,
        CampaignForm(),
        TargetForm(workspace=access.workspace),
        slots,
        _messages_of(slots),
        request.POST.get("sample"),
    )
    # Only ever fetched by htmx into the composer, so always the fragment.
    return render(request, "web/campaigns/compose.html#preview", context)


@require_POST
@workspace_view(Permission.EDIT)
def compose_estimate(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """Recipient count and cost for the target being composed."""
    form = TargetForm(request.POST, workspace=access.workspace)
    found = figures.estimate(access.workspace, form.target()) if form.is_valid() else None
    context = {"access": access, "estimate": found, "target_form": form}
    return render(request, "web/campaigns/compose.html#estimate", context)


def _live(campaign: Campaign) -> Delivery | None:
    return services.live_delivery(campaign)


def detail_context(
    request: HttpRequest, access: WorkspaceAccess, campaign: Campaign
) -> dict[str, Any]:
    """Everything the campaign page shows; also used to re-render it with an error."""
    workspace = access.workspace
    live = _live(campaign)
    sample, samples = _sample(access, request.GET.get("sample"))
    awaiting_approval = workspace.require_approval and campaign.approved_at is None
    is_draft = campaign.status == CampaignStatus.DRAFT
    query = request.GET.get("q", "").strip()
    saved = staff_recipients.saved(workspace)
    links = results.live_links(live) if live else []
    return {
        "access": access,
        "section": "campaigns",
        "campaign": campaign,
        "live": live,
        "tests": Delivery.objects.filter(campaign=campaign, kind=DeliveryKind.TEST)[:5],
        "preview": figures.preview(workspace, campaign.messages, sample),
        "samples": samples,
        "target": figures.target_summary(workspace, campaign.target),
        "awaiting_approval": awaiting_approval,
        "can_approve": (
            access.can(Permission.APPROVE)
            and is_draft
            and awaiting_approval
            and campaign.created_by_id != access.user.pk
        ),
        "can_send": access.can(Permission.SEND) and is_draft and not awaiting_approval,
        "can_test": access.can(Permission.SEND) and is_draft,
        "can_cancel": access.can(Permission.SEND) and campaign.status in CANCELLABLE,
        "needs_confirmation": bool(live and services.needs_confirmation(live)),
        "test_recipients": [figures.picker_entry(c) for c in saved],
        "test_results": [
            figures.picker_entry(c)
            for c in staff_recipients.search(workspace, query)
            if c not in saved
        ],
        "test_query": query,
        "send_form": SendForm(),
        "outcomes": results.outcomes(live) if live and live.frozen_at else [],
        "chart": results.click_chart(live) if live and links else None,
        "clickers_form": ClickersSegmentForm(
            links=links,
            initial={"name": _("Clicked in %(campaign)s") % {"campaign": campaign.name}},
        )
        if links
        else None,
    }


@workspace_view()
def campaign_detail(
    request: HttpRequest, access: WorkspaceAccess, campaign_id: int
) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id, workspace=access.workspace)
    context = detail_context(request, access, campaign)
    partial = "test-results" if "q" in request.GET else None
    return render_page(request, "web/campaigns/detail.html", context, partial=partial)


@workspace_view()
def campaign_estimate(
    request: HttpRequest, access: WorkspaceAccess, campaign_id: int
) -> HttpResponse:
    """Loaded by htmx after the page: the count is quick, LINE's quota may not be."""
    campaign = get_object_or_404(Campaign, pk=campaign_id, workspace=access.workspace)
    context = {"access": access, "estimate": figures.estimate(access.workspace, campaign.target)}
    return render(request, "web/campaigns/compose.html#estimate", context)


@workspace_view()
def campaign_progress(
    request: HttpRequest, access: WorkspaceAccess, campaign_id: int
) -> HttpResponse:
    """Polled by htmx every second while the campaign is scheduled or sending."""
    campaign = get_object_or_404(Campaign, pk=campaign_id, workspace=access.workspace)
    live = _live(campaign)
    context = {"access": access, "campaign": campaign, "live": live}
    response = render_page(request, "web/campaigns/detail.html", context, partial="progress")
    if campaign.status not in ACTIVE and request.headers.get("HX-Request"):
        # The send has ended: reload the whole page once so results and controls appear.
        response["HX-Refresh"] = "true"
    return response
