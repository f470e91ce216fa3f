"""The trigger's conditions (who may enter), edited with the segment builder itself: the page
includes the builder's partial (`web/segments/edit.html#builder`), whose htmx round trips go
to the segment pages' own builder endpoint, and saving folds the post with
`segments_builder.apply_post` exactly as saving a segment does."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.scenarios import services
from otodoke.scenarios.models import Scenario
from otodoke.segments.schema import Problem
from otodoke.web import segments as queries
from otodoke.web import segments_builder as builder
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.workspaces.roles import Permission


def builder_context(
    access: WorkspaceAccess, state: dict[str, Any], edit: builder.Edit | None
) -> dict[str, Any]:
    """What the segment builder's partial needs, as the segment pages build it."""
    found = queries.evaluate(access.workspace, state)
    problems: list[Problem] = list(found.problems)
    if edit is not None and edit.json_problem is not None:
        problems.insert(0, edit.json_problem)
    tree, loose = builder.build_view(state, problems)
    return {
        "found": found,
        "tree": tree,
        "loose_problems": loose,
        "definition_json": builder.dump(state),
        "pretty_json": edit.raw_json
        if edit and edit.json_problem
        else builder.dump(state, indent=2),
        "json_open": bool(edit and edit.json_problem),
        "kind_menu": builder.KIND_MENU,
        "builder_url": reverse("web:segment_builder", args=[access.workspace.slug]),
        "choices": queries.builder_choices(access.workspace, None),
    }


@workspace_view(Permission.EDIT)
def scenario_conditions(
    request: HttpRequest, access: WorkspaceAccess, scenario_id: int
) -> HttpResponse:
    scenario = get_object_or_404(Scenario, pk=scenario_id, workspace=access.workspace)
    version = scenario.current_version
    assert version is not None
    spec = services.spec_of(version)
    edit: builder.Edit | None = None
    state: dict[str, Any] = dict(spec.get("conditions") or builder.empty_definition())
    problems: list[str] | None = None
    if request.method == "POST":
        edit = builder.apply_post(request.POST, today=timezone.localdate())
        state = edit.state
        if "save" in request.POST or "clear" in request.POST:
            where = state.get("where") or {}
            everyone = "clear" in request.POST or (
                where.get("kind") == "all" and not where.get("conditions")
            )
            spec["conditions"] = None if everyone else state
            try:
                services.update_scenario(scenario, spec=spec)
            except services.ScenarioError as exc:
                problems = [p.message for p in exc.problems]
            else:
                messages.success(request, _("Saved."))
                return redirect("web:scenario", slug=access.workspace.slug, scenario_id=scenario.pk)
    context = {
        "access": access,
        "section": "scenarios",
        "scenario": scenario,
        "problems": problems,
        **builder_context(access, state, edit),
    }
    status = 400 if problems else 200
    return render(request, "scenarios/conditions.html", context, status=status)
