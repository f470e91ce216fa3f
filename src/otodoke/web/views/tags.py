"""The tags page (タグ): each tag with its number of contacts; rename, merge, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otodoke.contacts.models import Tag
from otodoke.segments import tags as tag_admin
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.htmx import render_page
from otodoke.workspaces.roles import Permission


@workspace_view()
def tag_list(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    show_clicks = request.GET.get("clicks") == "1"
    rows = tag_admin.tag_rows(access.workspace, include_click_tags=show_clicks)
    context = {
        "access": access,
        "section": "contacts",
        "rows": rows,
        "merge_choices": tag_admin.filter_tag_names(access.workspace),
        "show_clicks": show_clicks,
        "can_edit": access.can(Permission.EDIT),
    }
    return render_page(request, "web/tags/list.html", context)


def _tag(access: WorkspaceAccess, tag_id: int) -> Tag:
    return get_object_or_404(Tag, pk=tag_id, workspace=access.workspace)


def _back(access: WorkspaceAccess) -> HttpResponse:
    return redirect("web:tags", slug=access.workspace.slug)


@require_POST
@workspace_view(Permission.EDIT)
def tag_rename(request: HttpRequest, access: WorkspaceAccess, tag_id: int) -> HttpResponse:
    tag = _tag(access, tag_id)
    old = tag.name
    try:
        segments = tag_admin.rename_tag(tag, request.POST.get("name", ""))
    except tag_admin.TagRefused as exc:
        messages.error(request, str(exc))
    else:
        if tag.name != old:
            messages.success(
                request,
                _("Tag “%(old)s” renamed to “%(new)s” (%(segments)d segments updated).")
                % {"old": old, "new": tag.name, "segments": segments},
            )
    return _back(access)


@require_POST
@workspace_view(Permission.EDIT)
def tag_merge(request: HttpRequest, access: WorkspaceAccess, tag_id: int) -> HttpResponse:
    source = _tag(access, tag_id)
    target = Tag.objects.filter(workspace=access.workspace, name=request.POST.get("into")).first()
    if target is None:
        messages.error(request, _("Choose the tag to merge into."))
        return _back(access)
    try:
        moved = tag_admin.merge_tag(source, target)
    except tag_admin.TagRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Tag “%(source)s” merged into “%(target)s” (%(moved)d contacts newly tagged).")
            % {"source": source.name, "target": target.name, "moved": moved},
        )
    return _back(access)


@require_POST
@workspace_view(Permission.EDIT)
def tag_delete(request: HttpRequest, access: WorkspaceAccess, tag_id: int) -> HttpResponse:
    tag = _tag(access, tag_id)
    try:
        count = tag_admin.delete_tag(tag)
    except tag_admin.TagRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Tag “%(tag)s” deleted from %(count)d contacts.") % {"tag": tag.name, "count": count},
        )
    return _back(access)
