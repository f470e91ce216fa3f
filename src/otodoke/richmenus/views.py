"""Rich-menu pages: the list with the per-segment rules, the editor (settings, image, tap areas
drawn on the image, preview as LINE shows it), publishing and the account default.

Views are thin: each change is one `services` call and its error is shown as a message.
Viewers look; editing a draft needs EDIT; what changes friends' chats (publishing, the
default, rules) needs SEND, as activating a scenario does."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from otodoke.richmenus import services
from otodoke.richmenus.areas import ACTION_TYPES, PICKER_MODES, AreasError
from otodoke.richmenus.images import SIZES, ImageError
from otodoke.richmenus.models import RichMenu, RichMenuAssignment, RichMenuRule
from otodoke.segments.models import Segment
from otodoke.tracking.models import TrackedLink
from otodoke.tracking.services import record_click
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.htmx import render_page
from otodoke.workspaces.roles import Permission

ACTION_LABELS = {
    "uri": gettext_lazy("Open a link (tracked)"),
    "postback": gettext_lazy("Postback"),
    "message": gettext_lazy("Send a message"),
    "datetimepicker": gettext_lazy("Date picker"),
    "richmenuswitch": gettext_lazy("Switch tab (alias)"),
}


def _base(access: WorkspaceAccess, **more: Any) -> dict[str, Any]:
    return {"access": access, "section": "richmenus", **more}


def _menu(access: WorkspaceAccess, menu_id: int) -> RichMenu:
    return get_object_or_404(RichMenu, pk=menu_id, workspace=access.workspace)


def _upload(request: HttpRequest) -> bytes | None:
    file = request.FILES.get("image")
    return file.read() if file is not None else None


def _back(access: WorkspaceAccess, menu: RichMenu | None = None) -> HttpResponseRedirect:
    if menu is None:
        return redirect("web:richmenus", access.workspace.slug)
    return redirect("web:richmenu", access.workspace.slug, menu.pk)


@workspace_view()
def richmenu_list(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    menus = list(RichMenu.objects.filter(workspace=access.workspace))
    rules = list(
        RichMenuRule.objects.filter(workspace=access.workspace).select_related("segment", "menu")
    )
    counts = dict(
        RichMenuAssignment.objects.filter(workspace=access.workspace)
        .exclude(rule=None)
        .values_list("rule_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    context = _base(
        access,
        menus=menus,
        rules=[(rule, counts.get(rule.pk, 0)) for rule in rules],
        segments=Segment.objects.filter(workspace=access.workspace),
        published_menus=[m for m in menus if m.published],
        sizes=SIZES,
    )
    return render_page(request, "richmenus/list.html", context)


@require_POST
@workspace_view(Permission.EDIT)
def richmenu_new(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    size = request.POST.get("size", "2500x1686")
    try:
        width, height = (int(n) for n in size.split("x", 1))
    except ValueError:
        width, height = 0, 0
    try:
        menu = services.create_menu(
            access.workspace,
            name=request.POST.get("name", ""),
            chat_bar_text=request.POST.get("chat_bar_text", ""),
            width=width,
            height=height,
            image=_upload(request),
            alias=request.POST.get("alias", "").strip(),
        )
    except (services.MenuError, ImageError) as exc:
        messages.error(request, str(exc))
        return _back(access)
    messages.success(request, _("Menu created: draw its tap areas on the image."))
    return _back(access, menu)


def _area_rows(menu: RichMenu) -> list[dict[str, Any]]:
    return [dict(area, number=i + 1) for i, area in enumerate(menu.areas)]


@workspace_view()
def richmenu_detail(request: HttpRequest, access: WorkspaceAccess, menu_id: int) -> HttpResponse:
    menu = _menu(access, menu_id)
    others = RichMenu.objects.filter(workspace=access.workspace).exclude(pk=menu.pk)
    context = _base(
        access,
        menu=menu,
        rows=_area_rows(menu),
        action_types=[(t, ACTION_LABELS[t]) for t in ACTION_TYPES],
        picker_modes=PICKER_MODES,
        others=others,
        rules=RichMenuRule.objects.filter(menu=menu).select_related("segment"),
    )
    return render_page(request, "richmenus/detail.html", context)


@require_POST
@workspace_view(Permission.EDIT)
def richmenu_settings(request: HttpRequest, access: WorkspaceAccess, menu_id: int) -> HttpResponse:
    menu = _menu(access, menu_id)
    try:
        services.update_menu(
            menu,
            name=request.POST.get("name", menu.name),
            chat_bar_text=request.POST.get("chat_bar_text", menu.chat_bar_text),
            image=_upload(request),
            selected=request.POST.get("selected") == "on",
            alias=request.POST.get("alias", menu.alias).strip(),
        )
    except (services.MenuError, ImageError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Saved."))
    return _back(access, menu)


FIELDS = ("x", "y", "width", "height", "type", "value", "label", "mode", "target")


@require_POST
@workspace_view(Permission.EDIT)
def richmenu_areas(request: HttpRequest, access: WorkspaceAccess, menu_id: int) -> HttpResponse:
    """The rows of the area form arrive as parallel lists, one value per row and field."""
    menu = _menu(access, menu_id)
    columns = {name: request.POST.getlist(name) for name in FIELDS}
    count = len(columns["x"])
    rows = [
        {name: (values[i] if i < len(values) else "") for name, values in columns.items()}
        for i in range(count)
    ]
    try:
        services.save_areas(menu, rows)
    except AreasError as exc:
        for problem in exc.problems:
            messages.error(request, str(problem))
    else:
        messages.success(request, _("Tap areas saved (%(n)s).") % {"n": count})
    return _back(access, menu)


@require_POST
@workspace_view(Permission.SEND)
def richmenu_publish(request: HttpRequest, access: WorkspaceAccess, menu_id: int) -> HttpResponse:
    menu = _menu(access, menu_id)
    try:
        services.publish_menu(menu)
    except services.MenuError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Published to LINE."))
    return _back(access, menu)


@require_POST
@workspace_view(Permission.SEND)
def richmenu_default(request: HttpRequest, access: WorkspaceAccess, menu_id: int) -> HttpResponse:
    menu = _menu(access, menu_id)
    try:
        services.set_default_menu(access.workspace, menu)
    except services.MenuError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("This is now the account's default menu."))
    return _back(access, menu)


@never_cache
@workspace_view()
def richmenu_image(request: HttpRequest, access: WorkspaceAccess, menu_id: int) -> HttpResponse:
    menu = _menu(access, menu_id)
    if not menu.image:
        raise Http404
    with menu.image.open("rb") as handle:  # at most 1 MB (LINE's limit)
        return HttpResponse(handle.read(), content_type=menu.image_type or "image/png")


def _rule_inputs(
    request: HttpRequest, access: WorkspaceAccess
) -> tuple[str, Segment, RichMenu, int]:
    segment = get_object_or_404(
        Segment, pk=request.POST.get("segment") or 0, workspace=access.workspace
    )
    menu = _menu(access, int(request.POST.get("menu") or 0))
    try:
        priority = max(0, int(request.POST.get("priority") or 100))
    except ValueError:
        priority = 100
    return request.POST.get("name", ""), segment, menu, priority


@require_POST
@workspace_view(Permission.SEND)
def rule_new(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    name, segment, menu, priority = _rule_inputs(request, access)
    try:
        services.create_rule(
            access.workspace, name=name, segment=segment, menu=menu, priority=priority
        )
    except services.MenuError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Rule added: friends in the segment get the menu shortly."))
    return _back(access)


@require_POST
@workspace_view(Permission.SEND)
def rule_change(request: HttpRequest, access: WorkspaceAccess, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(RichMenuRule, pk=rule_id, workspace=access.workspace)
    if request.POST.get("delete"):
        services.delete_rule(rule)
        messages.success(request, _("Rule deleted."))
        return _back(access)
    try:
        priority = max(0, int(request.POST.get("priority") or rule.priority))
    except ValueError:
        priority = rule.priority
    services.update_rule(rule, priority=priority, active=request.POST.get("active") == "on")
    messages.success(request, _("Saved."))
    return _back(access)


@never_cache
@require_GET
def redirect_menu_click(request: HttpRequest, token: str) -> HttpResponse:
    """A tap on a rich-menu link: counted (the menu is the same for everyone, so without a
    contact), then on to the stored URL; nothing in the request changes where it goes."""
    link = TrackedLink.objects.filter(token=token).first()
    if link is None:
        raise Http404
    record_click(link, user_agent=request.headers.get("user-agent", "")[:500])
    return HttpResponseRedirect(link.url)
