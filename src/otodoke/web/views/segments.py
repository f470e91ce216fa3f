"""Segments: the list, the builder (new and edit), its htmx round trips, preview, delete.

The builder posts its whole form on every change; `segments_builder.apply_post` folds the edits
into the JSON definition and the segments service validates and counts it. Viewing and trying
conditions needs only VIEW (it changes nothing); saving and deleting need EDIT."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from otodoke.segments.models import Segment
from otodoke.segments.schema import DefinitionError
from otodoke.segments.services import SegmentInUseError, delete_segment, save_segment
from otodoke.web import segments as queries
from otodoke.web import segments_builder as builder
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.contacts import ContactCard
from otodoke.web.htmx import render_page
from otodoke.web.segments_forms import SegmentForm, SnapshotForm
from otodoke.workspaces.roles import Permission

EDIT_TEMPLATE = "web/segments/edit.html"


@workspace_view()
def segment_list(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    rows = [
        (segment, queries.summary_of(segment.definition, access.workspace))
        for segment in Segment.objects.filter(workspace=access.workspace)
    ]
    context = {"access": access, "section": "segments", "rows": rows}
    return render_page(request, "web/segments/list.html", context)


@require_GET
@workspace_view()
def segment_count(request: HttpRequest, access: WorkspaceAccess, segment_id: int) -> HttpResponse:
    """Loaded by each list row after the page: a slow count never holds up the list."""
    segment = get_object_or_404(Segment, pk=segment_id, workspace=access.workspace)
    found = queries.evaluate(access.workspace, segment.definition, segment_id=segment.pk)
    context = {"access": access, "segment": segment, "found": found}
    return render_page(request, "web/segments/list.html", context, partial="count")


def _page(
    request: HttpRequest,
    access: WorkspaceAccess,
    *,
    segment: Segment | None,
    state: dict[str, Any],
    form: SegmentForm,
    partial: str | None = None,
    status: int = 200,
    edit: builder.Edit | None = None,
) -> HttpResponse:
    found = queries.evaluate(access.workspace, state, segment_id=segment.pk if segment else None)
    problems = list(found.problems)
    if edit is not None and edit.json_problem is not None:
        problems.insert(0, edit.json_problem)
    tree, loose = builder.build_view(state, problems)
    context = {
        "access": access,
        "section": "segments",
        "segment": segment,
        "form": form,
        "found": found,
        "tree": tree,
        "loose_problems": loose,
        "definition_json": builder.dump(state),
        "pretty_json": edit.raw_json
        if edit and edit.json_problem
        else builder.dump(state, indent=2),
        "json_open": bool(edit and edit.json_problem) or request.POST.get("json_open") == "1",
        "kind_menu": builder.KIND_MENU,
        "builder_url": reverse("web:segment_builder", args=[access.workspace.slug]),
        "choices": queries.builder_choices(access.workspace, segment),
        "snapshot_form": SnapshotForm(),
    }
    return render_page(request, EDIT_TEMPLATE, context, partial=partial, status=status)


def _edit(request: HttpRequest, access: WorkspaceAccess, segment: Segment | None) -> HttpResponse:
    if request.method != "POST":
        form = SegmentForm(
            initial={"name": segment.name, "description": segment.description} if segment else None
        )
        state = dict(segment.definition) if segment else builder.empty_definition()
        return _page(request, access, segment=segment, state=state, form=form)
    edit = builder.apply_post(request.POST, today=timezone.localdate())
    form = SegmentForm(request.POST)
    if "save" not in request.POST:
        # A builder button pressed without JavaScript: same round trip, whole page.
        return _page(request, access, segment=segment, state=edit.state, form=form, edit=edit)
    access.require(Permission.EDIT)
    if form.is_valid() and edit.json_problem is None:
        try:
            saved = save_segment(
                access.workspace,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                definition=edit.state,
                actor=access.user,
                segment=segment,
            )
        except DefinitionError as exc:
            for problem in exc.problems:
                if problem.path == "$.name":
                    form.add_error("name", problem.message)
        else:
            messages.success(request, _("Saved “%(name)s”.") % {"name": saved.name})
            return redirect("web:segments", slug=access.workspace.slug)
    return _page(
        request, access, segment=segment, state=edit.state, form=form, edit=edit, status=400
    )


@workspace_view()
def segment_new(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    return _edit(request, access, None)


@workspace_view()
def segment_edit(request: HttpRequest, access: WorkspaceAccess, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id, workspace=access.workspace)
    return _edit(request, access, segment)


@require_POST
@workspace_view()
def segment_builder(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """The htmx round trip: the re-rendered builder with count, reachable count and summary."""
    segment = None
    if segment_id := request.POST.get("segment_id", "").strip():
        segment = get_object_or_404(
            Segment, pk=int(segment_id) if segment_id.isdigit() else 0, workspace=access.workspace
        )
    edit = builder.apply_post(request.POST, today=timezone.localdate())
    form = SegmentForm(request.POST)
    return _page(
        request, access, segment=segment, state=edit.state, form=form, edit=edit, partial="builder"
    )


@require_POST
@workspace_view()
def segment_preview(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """A page of matching contacts for the definition on screen (saved or not)."""
    state = builder.apply_post(request.POST, today=timezone.localdate()).state
    found = queries.evaluate(access.workspace, state, count=False)
    page = int(p) if (p := request.POST.get("preview_page", "1")).isdigit() else 1
    cards: list[ContactCard] = []
    more = False
    if found.valid:
        cards, more = queries.preview_cards(
            access.workspace, state, show_pii=access.can(Permission.VIEW_PII), page=page
        )
    context = {
        "access": access,
        "found": found,
        "cards": cards,
        "preview_page": page,
        "more": more,
        "previewed": True,
    }
    return render_page(request, EDIT_TEMPLATE, context, partial="preview")


@require_POST
@workspace_view(Permission.EDIT)
def segment_delete(request: HttpRequest, access: WorkspaceAccess, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id, workspace=access.workspace)
    name = segment.name
    try:
        delete_segment(access.workspace, segment, actor=access.user)
    except SegmentInUseError as exc:
        users = [f"“{s.name}”" for s in exc.references.segments] + [
            _("the campaign “%(name)s”") % {"name": c.name} for c in exc.references.campaigns
        ]
        messages.error(
            request,
            _("“%(name)s” is used by %(users)s; remove it there first.")
            % {"name": name, "users": "、".join(users)},
        )
        return redirect("web:segment", slug=access.workspace.slug, segment_id=segment.pk)
    messages.success(request, _("Deleted “%(name)s”.") % {"name": name})
    return redirect("web:segments", slug=access.workspace.slug)
