"""自動応答 pages: the rules in priority order (move up/down, enable/disable), the test box,
create/edit (the composer's message slots, no JSON) and the recent answers. Views are thin:
each change is one `services` call and its problems are shown by field."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otodoke.autoreplies import replies, services
from otodoke.autoreplies.forms import RuleForm, TryForm, initial_for
from otodoke.autoreplies.models import AutoReply, Rule, RuleKind
from otodoke.web import campaigns as figures
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.campaigns_forms import MessageForm, message_forms
from otodoke.workspaces.roles import Permission

SLOT_PATH = re.compile(r"^messages\[(\d+)\]")


def _base(access: WorkspaceAccess, **more: Any) -> dict[str, Any]:
    return {"access": access, "section": "autoreplies", **more}


def _rule(access: WorkspaceAccess, rule_id: int) -> Rule:
    return get_object_or_404(Rule, pk=rule_id, workspace=access.workspace)


@workspace_view()
def rule_list(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    rules = list(Rule.objects.filter(workspace=access.workspace).in_order())
    trial = TryForm(request.GET or None)
    explanation = None
    if trial.is_valid() and trial.cleaned_data["text"]:
        explanation = replies.explain(access.workspace, trial.cleaned_data["text"])
    recent = (
        AutoReply.objects.filter(workspace=access.workspace)
        .select_related("rule", "contact")
        .order_by("-created_at")[:20]
    )
    context = _base(
        access,
        rules=rules,
        kinds=RuleKind.choices,
        trial=trial,
        explanation=explanation,
        recent=recent,
    )
    return render(request, "autoreplies/list.html", context)


def _messages_of(slots: list[MessageForm]) -> list[dict[str, Any]]:
    return [m for form in slots if form.is_valid() and (m := form.message()) is not None]


def _edit_page(
    request: HttpRequest, access: WorkspaceAccess, rule: Rule | None, kind: str
) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = RuleForm(data, workspace=access.workspace, kind=kind, initial=initial_for(rule, kind))
    slots = message_forms(data, rule.messages if rule else None)
    issues: dict[int, list[dict[str, str]]] = {}
    problems: list[str] = []
    if data is not None:
        checks = [slot.is_valid() for slot in slots]
        if form.is_valid() & all(checks):
            payload = form.data_for_service(_messages_of(slots))
            try:
                if rule is None:
                    saved = services.create_rule(access.workspace, payload)
                else:
                    saved = services.update_rule(rule, payload)
            except services.RuleError as exc:
                for path, message in exc.problems:
                    slot = SLOT_PATH.match(path)
                    if slot:
                        issues.setdefault(int(slot.group(1)), []).append(
                            {"path": path, "message": message}
                        )
                    elif path in form.fields or path == "scenario_id":
                        form.add_error("scenario" if path == "scenario_id" else path, message)
                    else:
                        problems.append(message)
            else:
                messages.success(request, _("Saved “%(name)s”.") % {"name": saved.name})
                return redirect("web:autoreplies", slug=access.workspace.slug)
    context = _base(
        access,
        rule=rule,
        kind=kind,
        kind_label=RuleKind(kind).label,
        form=form,
        problems=problems,
        slots=[(i, slot, issues.get(i, [])) for i, slot in enumerate(slots)],
        placeholders=figures.placeholders(access.workspace),
    )
    return render(
        request, "autoreplies/edit.html", context, status=400 if data is not None else 200
    )


@workspace_view(Permission.EDIT)
def rule_new(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    kind = request.GET.get("kind", RuleKind.KEYWORD)
    if kind not in RuleKind.values:
        raise Http404
    return _edit_page(request, access, None, kind)


@workspace_view(Permission.EDIT)
def rule_edit(request: HttpRequest, access: WorkspaceAccess, rule_id: int) -> HttpResponse:
    rule = _rule(access, rule_id)
    return _edit_page(request, access, rule, rule.kind)


@require_POST
@workspace_view(Permission.EDIT)
def rule_action(
    request: HttpRequest, access: WorkspaceAccess, rule_id: int, action: str
) -> HttpResponse:
    rule = _rule(access, rule_id)
    if action == "enable":
        services.set_enabled(rule, True)
    elif action == "disable":
        services.set_enabled(rule, False)
    elif action == "up":
        services.move(rule, -1)
    elif action == "down":
        services.move(rule, +1)
    elif action == "delete":
        services.delete_rule(rule)
        messages.success(request, _("Deleted “%(name)s”.") % {"name": rule.name})
    else:
        raise Http404
    return redirect("web:autoreplies", slug=access.workspace.slug)
