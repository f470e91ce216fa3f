"""Scenarios: create from JSON or a template, edit (versioned), activate, pause, archive,
stats, and a contact's enrolments, all through `otodoke.scenarios.services`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.db.models import Count
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field, StringConstraints

from otodoke.api.auth import Caller, principal
from otodoke.api.errors import COMMON_ERRORS, ApiError, ErrorOut
from otodoke.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, page
from otodoke.contacts.models import Contact
from otodoke.scenarios import presets, services
from otodoke.scenarios.models import Enrolment, Scenario
from otodoke.workspaces.roles import Permission

router = Router()

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=2000)]
Definition = Annotated[
    dict[str, Any],
    Field(
        description="trigger, conditions, entry_rule, reentry_days, goal and steps "
        "(see the README's Scenarios section)",
        examples=[
            {
                "trigger": {"kind": "friend_added", "params": {}},
                "entry_rule": "once",
                "steps": [{"type": "send", "messages": [{"type": "text", "text": "ようこそ"}]}],
            }
        ],
    ),
]
_WITH_CONFLICT = {**COMMON_ERRORS, 409: ErrorOut}


class ScenarioIn(Schema):
    name: Name
    description: Description = ""
    definition: Definition


class ScenarioPatch(Schema):
    name: Name | None = None
    description: Description | None = None
    definition: Definition | None = None


class InstantiateIn(Schema):
    name: Name | None = None


class Counts(Schema):
    entered: int
    active: int
    completed: int
    converted: int
    exited: int


class ScenarioOut(Schema):
    id: int
    name: str
    description: str
    status: str
    status_reason: str
    template: str
    version: int | None
    definition: dict[str, Any] | None
    counts: Counts
    created_at: datetime
    updated_at: datetime


class ScenarioPage(Schema):
    items: list[ScenarioOut]
    next_cursor: str | None


class StepStatsOut(Schema):
    index: int
    type: str | None
    waiting: int
    sent: int
    failed: int
    pending: int
    exited: int
    converted: int


class StatsOut(Counts):
    scenario: int
    exit_reasons: dict[str, int]
    steps: list[StepStatsOut]


class TemplateOut(Schema):
    key: str
    name: str
    description: str
    definition: dict[str, Any]


class EnrolmentOut(Schema):
    id: int
    scenario: int
    scenario_name: str
    version: int
    run: int
    status: str
    step_index: int
    next_due_at: datetime | None
    entered_at: datetime
    finished_at: datetime | None
    exit_reason: str


class PageParams(Schema):
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class EnrolmentParams(Schema):
    contact_id: int = Field(ge=1, le=2**63 - 1)


def _path(path: str) -> str:
    for field in ("$.name", "$.status", "$.channel"):
        if path == field or path.startswith(field + "."):
            return path.removeprefix("$.")
    rest = path.removeprefix("$")
    return "definition" + rest


def scenario_error(exc: services.ScenarioError) -> ApiError:
    details = [(_path(p.path), p.message) for p in exc.problems]
    if exc.state:
        return ApiError(409, exc.problems[0].message, code="invalid_state", details=details)
    return ApiError(422, _("The scenario is not valid"), code="invalid_scenario", details=details)


def _counts(scenario: Scenario) -> Counts:
    rows = dict(
        Enrolment.objects.filter(scenario=scenario)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return Counts(
        entered=sum(rows.values()),
        active=rows.get("active", 0),
        completed=rows.get("completed", 0),
        converted=rows.get("converted", 0),
        exited=rows.get("exited", 0),
    )


def scenario_out(scenario: Scenario) -> ScenarioOut:
    version = scenario.current_version
    return ScenarioOut(
        id=scenario.pk,
        name=scenario.name,
        description=scenario.description,
        status=scenario.status,
        status_reason=scenario.status_reason,
        template=scenario.template,
        version=version.number if version else None,
        definition=services.spec_of(version) if version else None,
        counts=_counts(scenario),
        created_at=scenario.created_at,
        updated_at=scenario.updated_at,
    )


def get_scenario(caller: Caller, scenario_id: int) -> Scenario:
    return Scenario.objects.select_related("current_version", "workspace").get(
        workspace=caller.workspace, pk=scenario_id
    )


@router.get("", response={200: ScenarioPage, **COMMON_ERRORS}, summary="List scenarios")
def list_scenarios(request: HttpRequest, params: Query[PageParams]) -> ScenarioPage:
    return scenario_page(principal(request), params)


def scenario_page(caller: Caller, params: PageParams) -> ScenarioPage:
    caller.require(Permission.VIEW)
    qs = Scenario.objects.filter(workspace=caller.workspace).select_related("current_version")
    rows, next_cursor = page(qs, cursor=params.cursor, limit=params.limit)
    return ScenarioPage(items=[scenario_out(s) for s in rows], next_cursor=next_cursor)


@router.post(
    "",
    response={201: ScenarioOut, **COMMON_ERRORS},
    summary="Create a scenario (a draft)",
    description="Each problem of the definition is reported with its path, e.g. "
    "`definition.steps[1].messages[0].text`.",
)
def create_scenario(request: HttpRequest, payload: ScenarioIn) -> Status[ScenarioOut]:
    return Status(201, create(principal(request), payload))


def create(caller: Caller, payload: ScenarioIn) -> ScenarioOut:
    caller.require(Permission.EDIT)
    try:
        scenario = services.create_scenario(
            caller.workspace,
            name=payload.name,
            description=payload.description,
            spec=payload.definition,
        )
    except services.ScenarioError as exc:
        raise scenario_error(exc) from exc
    return scenario_out(scenario)


@router.get("/templates", response={200: list[TemplateOut], **COMMON_ERRORS}, summary="Templates")
def list_templates(request: HttpRequest) -> list[TemplateOut]:
    return templates(principal(request))


def templates(caller: Caller) -> list[TemplateOut]:
    caller.require(Permission.VIEW)
    return [
        TemplateOut(
            key=p.key, name=p.name, description=p.description, definition=p.as_dict()["spec"]
        )
        for p in presets.PRESETS
    ]


@router.post(
    "/templates/{key}/instantiate",
    response={201: ScenarioOut, **COMMON_ERRORS},
    summary="Create a draft scenario from a template",
)
def instantiate_template(
    request: HttpRequest, key: str, payload: InstantiateIn
) -> Status[ScenarioOut]:
    return Status(201, instantiate(principal(request), key, payload))


def instantiate(caller: Caller, key: str, payload: InstantiateIn) -> ScenarioOut:
    caller.require(Permission.EDIT)
    try:
        scenario = presets.instantiate(caller.workspace, key, name=payload.name)
    except KeyError as exc:
        raise ApiError(404, _("No template %(key)s") % {"key": key}) from exc
    return scenario_out(scenario)


@router.get(
    "/enrolments",
    response={200: list[EnrolmentOut], **COMMON_ERRORS},
    summary="A contact's enrolments",
)
def list_enrolments(request: HttpRequest, params: Query[EnrolmentParams]) -> list[EnrolmentOut]:
    return enrolments(principal(request), params.contact_id)


def enrolments(caller: Caller, contact_id: int) -> list[EnrolmentOut]:
    caller.require(Permission.VIEW)
    Contact.objects.get(workspace=caller.workspace, pk=contact_id)  # 404 when not ours
    rows = Enrolment.objects.filter(
        contact_id=contact_id, scenario__workspace=caller.workspace
    ).select_related("scenario", "version")
    return [
        EnrolmentOut(
            id=e.pk,
            scenario=e.scenario_id,
            scenario_name=e.scenario.name,
            version=e.version.number,
            run=e.run,
            status=e.status,
            step_index=e.step_index,
            next_due_at=e.next_due_at,
            entered_at=e.entered_at,
            finished_at=e.finished_at,
            exit_reason=e.exit_reason,
        )
        for e in rows
    ]


@router.get("/{scenario_id}", response={200: ScenarioOut, **COMMON_ERRORS}, summary="Get one")
def read_scenario(request: HttpRequest, scenario_id: int) -> ScenarioOut:
    return read(principal(request), scenario_id)


def read(caller: Caller, scenario_id: int) -> ScenarioOut:
    caller.require(Permission.VIEW)
    return scenario_out(get_scenario(caller, scenario_id))


@router.patch(
    "/{scenario_id}",
    response={200: ScenarioOut, **_WITH_CONFLICT},
    summary="Change a scenario",
    description="A new definition of a scenario that has been active publishes a new "
    "version: contacts already inside finish on the version they entered with.",
)
def update_scenario(request: HttpRequest, scenario_id: int, payload: ScenarioPatch) -> ScenarioOut:
    return update(principal(request), scenario_id, payload)


def update(caller: Caller, scenario_id: int, payload: ScenarioPatch) -> ScenarioOut:
    caller.require(Permission.EDIT)
    try:
        scenario = services.update_scenario(
            get_scenario(caller, scenario_id),
            spec=payload.definition,
            name=payload.name,
            description=payload.description,
        )
    except services.ScenarioError as exc:
        raise scenario_error(exc) from exc
    return read(caller, scenario.pk)


def act(caller: Caller, scenario_id: int, action: str) -> ScenarioOut:
    caller.require(Permission.SEND if action == "activate" else Permission.EDIT)
    scenario = get_scenario(caller, scenario_id)
    try:
        getattr(services, f"{action}_scenario")(scenario)
    except services.ScenarioError as exc:
        raise scenario_error(exc) from exc
    return read(caller, scenario_id)


@router.post(
    "/{scenario_id}/activate",
    response={200: ScenarioOut, **_WITH_CONFLICT},
    summary="Activate (after the check)",
    description="Refused with 422 naming each problem (an invalid message, a missing segment, "
    "no channel token). Needs the `send` scope.",
)
def activate(request: HttpRequest, scenario_id: int) -> ScenarioOut:
    return act(principal(request), scenario_id, "activate")


@router.post("/{scenario_id}/pause", response={200: ScenarioOut, **_WITH_CONFLICT}, summary="Pause")
def pause(request: HttpRequest, scenario_id: int) -> ScenarioOut:
    return act(principal(request), scenario_id, "pause")


@router.post(
    "/{scenario_id}/archive",
    response={200: ScenarioOut, **_WITH_CONFLICT},
    summary="Archive (contacts inside exit)",
)
def archive(request: HttpRequest, scenario_id: int) -> ScenarioOut:
    return act(principal(request), scenario_id, "archive")


@router.get("/{scenario_id}/stats", response={200: StatsOut, **COMMON_ERRORS}, summary="Statistics")
def scenario_stats(request: HttpRequest, scenario_id: int) -> StatsOut:
    return stats(principal(request), scenario_id)


def stats(caller: Caller, scenario_id: int) -> StatsOut:
    caller.require(Permission.VIEW)
    return StatsOut(**services.scenario_stats(get_scenario(caller, scenario_id)))
