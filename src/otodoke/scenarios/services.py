"""Named actions on scenarios, for the UI, the CLI and the API: create, update (versioning),
activate (with its check), pause, archive, stats.

Versioning: a scenario that has never been active is edited in place. Once a version has
been published (the scenario was activated), an edit publishes a **new version**: contacts
who entered before continue on the version they entered with (their remaining steps, goal
and exits are the old ones); contacts who enter from then on get the new version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.scenarios import schema
from otodoke.scenarios.models import (
    AutomationSettings,
    Enrolment,
    EnrolmentStatus,
    ExitReason,
    Scenario,
    ScenarioStatus,
    ScenarioVersion,
    SendStatus,
    StepSend,
)
from otodoke.segments import schema as seg
from otodoke.workspaces.models import Workspace


class ScenarioError(ValueError):
    """A scenario action that cannot be done; `problems` name each reason with its path."""

    def __init__(self, problems: list[seg.Problem], *, state: bool = False) -> None:
        self.problems = problems
        # True: the definition is fine but the scenario's status does not allow the action.
        self.state = state
        super().__init__("; ".join(str(p) for p in problems))

    def as_json(self) -> list[dict[str, str]]:
        return [{"path": p.path, "message": p.message} for p in self.problems]


def _state_error(message: str) -> ScenarioError:
    return ScenarioError([seg.Problem("$.status", message)], state=True)


def _parse(spec: Any) -> schema.VersionSpec:
    try:
        return schema.parse_spec(spec)
    except schema.SpecError as exc:
        raise ScenarioError(exc.problems) from exc


def _version_fields(spec: schema.VersionSpec) -> dict[str, Any]:
    data = schema.dump_spec(spec)
    return {
        "trigger": data["trigger"],
        "conditions": data["conditions"],
        "entry_rule": data["entry_rule"],
        "reentry_days": data["reentry_days"],
        "goal": data["goal"],
        "steps": data["steps"],
    }


def spec_of(version: ScenarioVersion) -> dict[str, Any]:
    return {
        "trigger": version.trigger,
        "conditions": version.conditions,
        "entry_rule": version.entry_rule,
        "reentry_days": version.reentry_days,
        "goal": version.goal,
        "steps": version.steps,
    }


@transaction.atomic
def create_scenario(
    workspace: Workspace,
    *,
    name: str,
    spec: Any,
    description: str = "",
    created_by: User | None = None,
    template: str = "",
) -> Scenario:
    """A draft with its first (unpublished) version. Raises ScenarioError."""
    parsed = _parse(spec)
    name = name.strip()
    if not name:
        raise ScenarioError([seg.Problem("$.name", _("A scenario needs a name"))])
    scenario = Scenario.objects.create(
        workspace=workspace,
        name=name[:200],
        description=description,
        created_by=created_by if created_by and created_by.pk else None,
        template=template,
    )
    version = ScenarioVersion.objects.create(scenario=scenario, number=1, **_version_fields(parsed))
    scenario.current_version = version
    scenario.save(update_fields=["current_version"])
    return scenario


@transaction.atomic
def update_scenario(
    scenario: Scenario,
    *,
    spec: Any = None,
    name: str | None = None,
    description: str | None = None,
) -> Scenario:
    """Change the name/description and/or the definition (see the module's versioning)."""
    scenario = Scenario.objects.select_for_update().get(pk=scenario.pk)
    if scenario.status == ScenarioStatus.ARCHIVED:
        raise _state_error(_("An archived scenario cannot be edited"))
    if name is not None:
        if not name.strip():
            raise ScenarioError([seg.Problem("$.name", _("A scenario needs a name"))])
        scenario.name = name.strip()[:200]
    if description is not None:
        scenario.description = description
    if spec is not None:
        fields = _version_fields(_parse(spec))
        current = scenario.current_version
        if current is not None and current.published_at is None:
            for key, value in fields.items():
                setattr(current, key, value)
            current.save()
        else:
            number = (
                ScenarioVersion.objects.filter(scenario=scenario).aggregate(n=Max("number"))["n"]
                or 0
            ) + 1
            published = timezone.now() if scenario.status == ScenarioStatus.ACTIVE else None
            scenario.current_version = ScenarioVersion.objects.create(
                scenario=scenario, number=number, published_at=published, **fields
            )
    scenario.save()
    return scenario


def activation_problems(scenario: Scenario) -> list[seg.Problem]:
    """Everything that stops the scenario from running, each named: an invalid definition or
    message, a segment that does not exist, a channel without credentials."""
    from otodoke.segments.compiler import compile_definition

    problems: list[seg.Problem] = []
    version = scenario.current_version
    if version is None:
        return [seg.Problem("$", _("The scenario has no steps yet"))]
    try:
        parsed = schema.parse_spec(spec_of(version))
    except schema.SpecError as exc:
        return list(exc.problems)
    workspace = scenario.workspace
    from otodoke.scenarios.timed import TIMED_KINDS, params_problems

    if parsed.trigger.kind in TIMED_KINDS:  # their params are the evaluator's to check
        problems += params_problems(workspace, parsed.trigger.kind, parsed.trigger.params)
    token = workspace.channel_access_token
    if token is None or not token.reveal():
        problems.append(
            seg.Problem("$.channel", _("The workspace has no LINE channel access token"))
        )
    definitions = [("$.conditions", parsed.conditions)]
    if parsed.goal is not None:
        definitions.append(("$.goal.definition", parsed.goal.definition))
    definitions += [
        (f"$.steps[{i}].condition", step.condition)
        for i, step in enumerate(parsed.steps)
        if isinstance(step, schema.Branch)
    ]
    for path, definition in definitions:
        if definition is None:
            continue
        try:
            compile_definition(workspace, seg.parse_definition(definition))
        except seg.DefinitionError as exc:
            problems += [
                seg.Problem(path + p.path.removeprefix("$"), p.message) for p in exc.problems
            ]
    return problems


@transaction.atomic
def activate_scenario(scenario: Scenario) -> Scenario:
    """draft/paused → active, after the check. Raises ScenarioError naming each problem."""
    scenario = Scenario.objects.select_for_update().get(pk=scenario.pk)
    if scenario.status == ScenarioStatus.ARCHIVED:
        raise _state_error(_("An archived scenario cannot be activated"))
    problems = activation_problems(scenario)
    if problems:
        raise ScenarioError(problems)
    version = scenario.current_version
    assert version is not None
    if version.published_at is None:
        version.published_at = timezone.now()
        version.save(update_fields=["published_at"])
    scenario.status = ScenarioStatus.ACTIVE
    scenario.status_reason = ""
    scenario.save(update_fields=["status", "status_reason", "updated_at"])
    from otodoke.scenarios.tasks import ensure_chain

    transaction.on_commit(ensure_chain)
    return scenario


def pause_scenario(scenario: Scenario) -> Scenario:
    """active → paused: nobody enters and no step runs; contacts inside keep their place and
    carry on (late steps first) when it is activated again."""
    if scenario.status != ScenarioStatus.ACTIVE:
        raise _state_error(_("Only an active scenario can be paused"))
    Scenario.objects.filter(pk=scenario.pk).update(
        status=ScenarioStatus.PAUSED, updated_at=timezone.now()
    )
    scenario.refresh_from_db()
    return scenario


@transaction.atomic
def archive_scenario(scenario: Scenario) -> Scenario:
    """Ends the scenario for good: contacts inside exit (reason "archived")."""
    now = timezone.now()
    Scenario.objects.filter(pk=scenario.pk).update(status=ScenarioStatus.ARCHIVED, updated_at=now)
    Enrolment.objects.filter(scenario=scenario, status=EnrolmentStatus.ACTIVE).update(
        status=EnrolmentStatus.EXITED,
        exit_reason=ExitReason.ARCHIVED,
        finished_at=now,
        next_due_at=None,
    )
    scenario.refresh_from_db()
    return scenario


@dataclass
class StepStats:
    index: int
    type: str
    waiting: int
    sent: int
    failed: int
    pending: int


def scenario_stats(scenario: Scenario) -> dict[str, Any]:
    """Enrolments by status (and converted), and per step of the current version: contacts
    waiting for it, messages sent / failed / not yet sent, and who exited or converted while
    waiting for it."""
    by_status = dict(
        Enrolment.objects.filter(scenario=scenario)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    version = scenario.current_version
    steps: list[dict[str, Any]] = []
    if version is not None:
        waiting = dict(
            Enrolment.objects.filter(version=version, status=EnrolmentStatus.ACTIVE)
            .values_list("step_index")
            .annotate(n=Count("id"))
            .order_by()
        )
        # Who left or converted while waiting for each step (the step they did not get to).
        left: dict[tuple[int, str], int] = {
            (i, st): n
            for i, st, n in Enrolment.objects.filter(
                version=version,
                status__in=[EnrolmentStatus.EXITED, EnrolmentStatus.CONVERTED],
            )
            .values_list("step_index", "status")
            .annotate(n=Count("id"))
            .order_by()
        }
        sends: dict[tuple[int, str], int] = {
            (i, s): n
            for i, s, n in StepSend.objects.filter(version=version)
            .values_list("step_index", "status")
            .annotate(n=Count("id"))
            .order_by()
        }
        for i, step in enumerate(version.steps):
            steps.append(
                {
                    "index": i,
                    "type": step.get("type"),
                    "waiting": waiting.get(i, 0),
                    "sent": sends.get((i, SendStatus.SENT), 0),
                    "failed": sends.get((i, SendStatus.FAILED), 0)
                    + sends.get((i, SendStatus.UNKNOWN), 0),
                    "pending": sends.get((i, SendStatus.PENDING), 0)
                    + sends.get((i, SendStatus.IN_FLIGHT), 0),
                    "exited": left.get((i, EnrolmentStatus.EXITED), 0),
                    "converted": left.get((i, EnrolmentStatus.CONVERTED), 0),
                }
            )
    exits = dict(
        Enrolment.objects.filter(scenario=scenario, status=EnrolmentStatus.EXITED)
        .values_list("exit_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "scenario": scenario.pk,
        "entered": sum(by_status.values()),
        "active": by_status.get(EnrolmentStatus.ACTIVE, 0),
        "completed": by_status.get(EnrolmentStatus.COMPLETED, 0),
        "converted": by_status.get(EnrolmentStatus.CONVERTED, 0),
        "exited": by_status.get(EnrolmentStatus.EXITED, 0),
        "exit_reasons": exits,
        "steps": steps,
    }


def automation_settings(workspace: Workspace) -> AutomationSettings:
    found, _created = AutomationSettings.objects.get_or_create(workspace=workspace)
    return found


def set_quiet_hours(
    workspace: Workspace, *, enabled: bool, start: dt.time | None = None, end: dt.time | None = None
) -> AutomationSettings:
    row = automation_settings(workspace)
    row.quiet_hours_enabled = enabled
    if start is not None:
        row.quiet_start = start
    if end is not None:
        row.quiet_end = end
    row.save()
    return row
