"""Scenario pages: the list, templates, the flow editor (trigger, rules, steps as cards), the
activation check and its buttons, statistics, and the quiet-hours setting.

Views are thin: every change is one `scenarios.services` call with a whole definition, so the
engine's validation (LINE's message limits, segment definitions, branch targets) decides and
its problems are shown by path. Viewers read; editing needs EDIT; activating, pausing and
archiving need SEND (a scenario sends by itself, like a campaign send)."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otodoke.scenarios import presenters, presets, services
from otodoke.scenarios.forms import (
    NewScenarioForm,
    QuietHoursForm,
    RulesForm,
    StepForm,
    TriggerForm,
    rules_initial,
    step_initial,
    trigger_initial,
)
from otodoke.scenarios.models import Scenario, ScenarioStatus
from otodoke.segments.schema import Problem
from otodoke.web import campaigns as figures
from otodoke.web import rich_forms
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.campaigns_forms import MessageForm, message_forms
from otodoke.web.htmx import render_page
from otodoke.workspaces.roles import Permission

STATUS_FILTERS = list(ScenarioStatus)


def _scenario(access: WorkspaceAccess, scenario_id: int) -> Scenario:
    return get_object_or_404(
        Scenario.objects.select_related("current_version"),
        pk=scenario_id,
        workspace=access.workspace,
    )


def _spec(scenario: Scenario) -> dict[str, Any]:
    if scenario.current_version is None:
        raise Http404
    return copy.deepcopy(services.spec_of(scenario.current_version))


def _base(access: WorkspaceAccess, **more: Any) -> dict[str, Any]:
    return {"access": access, "section": "scenarios", **more}


@workspace_view()
def scenario_list(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    found = Scenario.objects.filter(workspace=access.workspace).select_related("current_version")
    status = request.GET.get("status", "")
    if status in ScenarioStatus.values:
        found = found.filter(status=status)
    else:
        status = ""
    context = _base(
        access,
        rows=presenters.scenario_rows(list(found[:200])),
        statuses=STATUS_FILTERS,
        status=status,
    )
    return render_page(request, "scenarios/list.html", context)


@workspace_view(Permission.EDIT)
def scenario_new(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """The template gallery: one click creates a draft from a template (or a blank one)."""
    form = NewScenarioForm(request.POST or None)
    if request.method == "POST":
        key = request.POST.get("template", "")
        if presets.preset(key) is not None:
            scenario = presets.instantiate(access.workspace, key, created_by=access.user)
        elif form.is_valid():
            spec = {
                "trigger": {"kind": "friend_added", "params": {"include_refollow": True}},
                "steps": [
                    {"type": "send", "messages": [{"type": "text", "text": _("Thank you!")}]}
                ],
            }
            scenario = services.create_scenario(
                access.workspace,
                name=form.cleaned_data["name"],
                spec=spec,
                created_by=access.user,
            )
        else:
            context = _base(access, starters=presets.PRESETS, form=form)
            return render(request, "scenarios/new.html", context, status=400)
        messages.success(request, _("Created “%(name)s” as a draft.") % {"name": scenario.name})
        return redirect("web:scenario", slug=access.workspace.slug, scenario_id=scenario.pk)
    return render(request, "scenarios/new.html", _base(access, starters=presets.PRESETS, form=form))


def _flow(scenario: Scenario) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = scenario.current_version.steps if scenario.current_version else []
    out = []
    for index, step in enumerate(steps):
        out.append(
            {
                "index": index,
                "number": index + 1,
                "type": step.get("type"),
                "title": presenters.step_title(str(step.get("type"))),
                "summary": presenters.step_summary(step, len(steps)),
                "condition": presenters.condition_summary(
                    step.get("condition"), scenario.workspace_id
                )
                if step.get("type") == "branch"
                else "",
                "messages": [m.get("text", "") for m in step.get("messages") or []],
                "last": index == len(steps) - 1,
            }
        )
    return out


def detail_context(access: WorkspaceAccess, scenario: Scenario) -> dict[str, Any]:
    version = scenario.current_version
    spec = services.spec_of(version) if version else {}
    stats = services.scenario_stats(scenario)
    problems = presenters.activation_check(scenario)
    return _base(
        access,
        scenario=scenario,
        version=version,
        trigger=presenters.trigger_summary(spec.get("trigger") or {}),
        conditions=presenters.condition_summary(spec.get("conditions"), access.workspace.pk),
        goal=presenters.goal_summary(spec.get("goal"), access.workspace.pk),
        entry_rule=spec.get("entry_rule"),
        reentry_days=spec.get("reentry_days"),
        flow=_flow(scenario),
        step_types=presenters.step_types(),
        problems=[_explain(p) for p in problems],
        stats=stats,
        chart=presenters.step_chart(stats),
        exit_reasons=presenters.exit_reasons(stats),
        published=bool(version and version.published_at),
        editable=scenario.status != ScenarioStatus.ARCHIVED and access.can(Permission.EDIT),
    )


def _explain(problem: Problem) -> str:
    """A problem with where it is, in words: step N instead of `$.steps[N-1]`."""
    path = problem.path
    if path.startswith("$.steps["):
        number = int(path[len("$.steps[") : path.index("]")]) + 1
        return _("Step %(n)s: %(message)s") % {"n": number, "message": problem.message}
    if path.startswith("$.trigger") or path.startswith("$.conditions"):
        return _("Trigger: %(message)s") % {"message": problem.message}
    if path.startswith("$.goal"):
        return _("Goal: %(message)s") % {"message": problem.message}
    return problem.message


@workspace_view()
def scenario_detail(
    request: HttpRequest, access: WorkspaceAccess, scenario_id: int
) -> HttpResponse:
    scenario = _scenario(access, scenario_id)
    return render_page(request, "scenarios/detail.html", detail_context(access, scenario))


def _save(
    request: HttpRequest,
    access: WorkspaceAccess,
    scenario: Scenario,
    spec: dict[str, Any],
    **kw: Any,
) -> list[str] | None:
    """Publish the edit; the problems in words when the engine refuses it."""
    try:
        services.update_scenario(scenario, spec=spec, **kw)
    except services.ScenarioError as exc:
        return [_explain(p) for p in exc.problems]
    if scenario.status == ScenarioStatus.ACTIVE:
        messages.success(
            request,
            _(
                "Saved as a new version. Contacts already inside continue with the version "
                "they entered with; contacts entering from now get this one."
            ),
        )
    else:
        messages.success(request, _("Saved."))
    return None


@workspace_view(Permission.EDIT)
def scenario_trigger(
    request: HttpRequest, access: WorkspaceAccess, scenario_id: int
) -> HttpResponse:
    scenario = _scenario(access, scenario_id)
    spec = _spec(scenario)
    form = TriggerForm(
        request.POST or None,
        workspace=access.workspace,
        initial=trigger_initial(spec["trigger"]),
    )
    problems: list[str] | None = None
    if request.method == "POST" and form.is_valid():
        spec["trigger"] = form.trigger()
        problems = _save(request, access, scenario, spec)
        if problems is None:
            return redirect("web:scenario", slug=access.workspace.slug, scenario_id=scenario.pk)
    context = _base(access, scenario=scenario, form=form, problems=problems)
    status = 400 if request.method == "POST" else 200
    return render(request, "scenarios/trigger.html", context, status=status)


@workspace_view(Permission.EDIT)
def scenario_rules(request: HttpRequest, access: WorkspaceAccess, scenario_id: int) -> HttpResponse:
    scenario = _scenario(access, scenario_id)
    spec = _spec(scenario)
    form = RulesForm(
        request.POST or None, initial=rules_initial(scenario.name, scenario.description, spec)
    )
    problems: list[str] | None = None
    if request.method == "POST" and form.is_valid():
        spec.update(form.rules())
        problems = _save(
            request,
            access,
            scenario,
            spec,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
        )
        if problems is None:
            return redirect("web:scenario", slug=access.workspace.slug, scenario_id=scenario.pk)
    context = _base(access, scenario=scenario, form=form, problems=problems)
    status = 400 if request.method == "POST" else 200
    return render(request, "scenarios/rules.html", context, status=status)


def _messages_of(slots: list[MessageForm]) -> list[dict[str, Any]]:
    out = []
    for form in slots:
        if form.is_valid() and (message := form.message()) is not None and form.is_valid():
            out.append(message)
    return out


def _step_page(
    request: HttpRequest,
    access: WorkspaceAccess,
    scenario: Scenario,
    *,
    index: int,
    step: dict[str, Any],
    insert: bool,
) -> HttpResponse:
    spec = _spec(scenario)
    kind = str(step.get("type"))
    count = len(spec["steps"]) + (1 if insert else 0)
    data: QueryDict | None = request.POST if request.method == "POST" else None
    # A ready-made template (or 「JSONで編集」) re-renders the step with that slot replaced.
    changed = rich_forms.with_preset(data) if data is not None else None
    if changed is not None:
        data = changed
    form = StepForm(
        data,
        step_type=kind,
        workspace=access.workspace,
        index=index,
        count=count,
        initial=step_initial(step),
    )
    slots = message_forms(data, step.get("messages")) if kind == "send" else []
    shown: list[dict[str, Any]] = _messages_of(slots) if data else list(step.get("messages") or [])
    problems: list[str] | None = None
    if data is not None and changed is None:
        # Every slot validates (no short-circuit), so each shows its own errors.
        checks = [slot.is_valid() for slot in slots]
        valid = form.is_valid() & all(checks)
        if valid and kind == "send" and not shown and not form.cleaned_data.get("advanced"):
            problems = [_("Add at least one message.")]
        elif valid:
            new_step = form.step(shown)
            steps = spec["steps"]
            if insert:
                # Branch targets after the insertion point move one on with their step.
                for other in steps:
                    for name in ("then", "otherwise"):
                        if other.get("type") == "branch" and (other.get(name) or -1) >= index:
                            other[name] += 1
                steps.insert(index, new_step)
            else:
                steps[index] = new_step
            problems = _save(request, access, scenario, spec)
            if problems is None:
                return redirect("web:scenario", slug=access.workspace.slug, scenario_id=scenario.pk)
    sample, samples = _sample(access, request.POST.get("sample") if data else None)
    preview = figures.preview(access.workspace, shown, sample) if shown else None
    context = _base(
        access,
        scenario=scenario,
        form=form,
        kind=kind,
        number=index + 1,
        insert=insert,
        index=index,
        problems=problems,
        slots=[
            (i, slot, [x for x in (preview.issues if preview else []) if x.index == i])
            for i, slot in enumerate(slots)
        ],
        preview=preview,
        samples=samples,
        placeholders=figures.placeholders(access.workspace) if kind == "send" else [],
    )
    status = 400 if data is not None else 200
    return render(request, "scenarios/step.html", context, status=status)


def _sample(access: WorkspaceAccess, raw: str | None) -> tuple[Any, list[Any]]:
    choices = figures.sample_contacts(access.workspace)
    if raw and raw.isdigit():
        for contact in choices:
            if contact.pk == int(raw):
                return contact, choices
    return (choices[0] if choices else None), choices


@workspace_view(Permission.EDIT)
def step_edit(
    request: HttpRequest, access: WorkspaceAccess, scenario_id: int, index: int
) -> HttpResponse:
    scenario = _scenario(access, scenario_id)
    steps = _spec(scenario)["steps"]
    if not 0 <= index < len(steps):
        raise Http404
    return _step_page(request, access, scenario, index=index, step=steps[index], insert=False)


@workspace_view(Permission.EDIT)
def step_new(request: HttpRequest, access: WorkspaceAccess, scenario_id: int) -> HttpResponse:
    """A new step of `type` at position `at` (default: the end), saved only when posted."""
    scenario = _scenario(access, scenario_id)
    steps = _spec(scenario)["steps"]
    kind = request.GET.get("type", "")
    if kind not in dict(presenters.STEP_TYPES):
        raise Http404
    raw = request.GET.get("at", "")
    index = int(raw) if raw.isdigit() and int(raw) <= len(steps) else len(steps)
    step: dict[str, Any] = {"type": kind}
    if kind == "send":
        step["messages"] = []
    return _step_page(request, access, scenario, index=index, step=step, insert=True)


@require_POST
@workspace_view(Permission.EDIT)
def step_preview(request: HttpRequest, access: WorkspaceAccess, scenario_id: int) -> HttpResponse:
    """The send step's chat preview, re-rendered by htmx as the staff member types."""
    _scenario(access, scenario_id)
    slots = message_forms(request.POST)
    shown = _messages_of(slots)
    sample, samples = _sample(access, request.POST.get("sample"))
    preview = figures.preview(access.workspace, shown, sample) if shown else None
    context = _base(access, preview=preview, samples=samples)
    return render(request, "scenarios/step.html#preview", context)


@require_POST
@workspace_view(Permission.EDIT)
def step_change(
    request: HttpRequest, access: WorkspaceAccess, scenario_id: int, index: int
) -> HttpResponse:
    """Move a step up or down, or remove it. Branch targets are kept pointing at the same
    steps where they still can; the engine refuses a jump that would go backwards."""
    scenario = _scenario(access, scenario_id)
    spec = _spec(scenario)
    steps: list[dict[str, Any]] = spec["steps"]
    action = request.POST.get("action", "")
    if not 0 <= index < len(steps):
        raise Http404
    order = list(range(len(steps)))
    if action == "up" and index > 0:
        order[index - 1], order[index] = order[index], order[index - 1]
    elif action == "down" and index < len(steps) - 1:
        order[index + 1], order[index] = order[index], order[index + 1]
    elif action == "remove":
        order.pop(index)
    else:
        return redirect("web:scenario", slug=access.workspace.slug, scenario_id=scenario.pk)
    where = {old: new for new, old in enumerate(order)}
    end = len(order)
    moved = [copy.deepcopy(steps[old]) for old in order]
    for step in moved:
        if step.get("type") == "branch":
            for name in ("then", "otherwise"):
                target = step.get(name)
                if target is not None:
                    step[name] = where.get(target, end) if target < len(steps) else end
    spec["steps"] = moved
    problems = _save(request, access, scenario, spec)
    for problem in problems or []:
        messages.error(request, problem)
    return redirect("web:scenario", slug=access.workspace.slug, scenario_id=scenario.pk)


@require_POST
@workspace_view(Permission.SEND)
def scenario_action(
    request: HttpRequest, access: WorkspaceAccess, scenario_id: int, action: str
) -> HttpResponse:
    scenario = _scenario(access, scenario_id)
    done = {
        "activate": (services.activate_scenario, _("Activated: it now runs by itself.")),
        "pause": (
            services.pause_scenario,
            _("Paused: nobody enters and no step runs until it is activated again."),
        ),
        "archive": (services.archive_scenario, _("Archived: contacts inside have left it.")),
    }.get(action)
    if done is None:
        raise Http404
    call, note = done
    blocked = presenters.activation_check(scenario) if action == "activate" else []
    try:
        if blocked:
            raise services.ScenarioError(blocked)
        call(scenario)
    except services.ScenarioError as exc:
        for problem in exc.problems:
            messages.error(request, _explain(problem))
    else:
        if action == "activate":
            _start_ticks()
        messages.success(request, note)
    return redirect("web:scenario", slug=access.workspace.slug, scenario_id=scenario.pk)


def _start_ticks() -> None:
    """An activated scenario needs the scheduler's chain of ticks (the worker runs it)."""
    from otodoke.scenarios.tasks import ensure_chain

    ensure_chain()


@workspace_view(Permission.MANAGE_SETTINGS)
def quiet_hours(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """設定 → 自動配信: quiet hours, in the workspace time zone."""
    current = services.automation_settings(access.workspace)
    form = QuietHoursForm(
        request.POST or None,
        initial={
            "enabled": current.quiet_hours_enabled,
            "start": current.quiet_start,
            "end": current.quiet_end,
        },
    )
    if request.method == "POST":
        if form.is_valid():
            services.set_quiet_hours(
                access.workspace,
                enabled=form.cleaned_data["enabled"],
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
            )
            messages.success(request, _("Saved."))
            return redirect("web:settings_automation", slug=access.workspace.slug)
        context = {"access": access, "section": "settings", "form": form}
        return render(request, "scenarios/quiet_hours.html", context, status=400)
    context = {"access": access, "section": "settings", "form": form}
    return render(request, "scenarios/quiet_hours.html", context)
