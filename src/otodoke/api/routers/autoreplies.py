"""Auto-reply rules (welcome, keyword, postback, out-of-hours): list in priority order,
create, read, change, delete, reorder, "which rule would answer this?", and the recent
answers, all through `otodoke.autoreplies.services`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field, StringConstraints

from otodoke.api.auth import Caller, principal
from otodoke.api.errors import COMMON_ERRORS, ApiError
from otodoke.api.routers.campaign_schemas import MessageObject
from otodoke.autoreplies import replies, services
from otodoke.autoreplies.models import AutoReply, Rule
from otodoke.workspaces.roles import Permission

router = Router()

Kind = Literal["welcome", "keyword", "postback", "away"]
Match = Literal["exact", "contains"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Messages = Annotated[
    list[MessageObject],
    Field(
        min_length=1,
        max_length=5,
        description="1–5 LINE message objects; placeholders such as {{ name }} allowed",
        examples=[[{"type": "text", "text": "{{ name | default('お客様') }}さま、ご予約はこちら"}]],
    ),
]
Weekday = Annotated[int, Field(ge=0, le=6)]


class RuleIn(Schema):
    kind: Kind
    name: Name
    enabled: bool = True
    match_type: Match = "exact"
    keywords: list[Annotated[str, StringConstraints(max_length=100)]] = Field(
        default_factory=list, max_length=20, description="keyword rules: the words to match"
    )
    postback_key: Annotated[str, StringConstraints(max_length=100)] = Field(
        default="", description="postback rules: the key in the postback data (action=…)"
    )
    postback_value: Annotated[str, StringConstraints(max_length=300)] = Field(
        default="", description="postback rules: the value to match; empty matches any"
    )
    messages: Messages
    invite_unlinked: bool = Field(
        default=False, description="welcome: add the link invitation for unlinked friends"
    )
    add_tag: Annotated[str, StringConstraints(max_length=100)] = ""
    scenario_id: int | None = Field(default=None, description="a scenario to start")
    open_days: list[Weekday] = Field(
        default_factory=list, description="away rules: open weekdays, 0 = Monday … 6 = Sunday"
    )
    opens_at: dt.time | None = Field(default=None, description="away rules, workspace time")
    closes_at: dt.time | None = None


class RulePatch(Schema):
    name: Name | None = None
    enabled: bool | None = None
    match_type: Match | None = None
    keywords: list[Annotated[str, StringConstraints(max_length=100)]] | None = Field(
        default=None, max_length=20
    )
    postback_key: Annotated[str, StringConstraints(max_length=100)] | None = None
    postback_value: Annotated[str, StringConstraints(max_length=300)] | None = None
    messages: Messages | None = None
    invite_unlinked: bool | None = None
    add_tag: Annotated[str, StringConstraints(max_length=100)] | None = None
    scenario_id: int | None = None
    open_days: list[Weekday] | None = None
    opens_at: dt.time | None = None
    closes_at: dt.time | None = None


class RuleOut(Schema):
    id: int
    position: int
    kind: str
    name: str
    enabled: bool
    match_type: str
    keywords: list[str]
    postback_key: str
    postback_value: str
    messages: list[dict[str, Any]]
    invite_unlinked: bool
    add_tag: str
    scenario_id: int | None
    open_days: list[int]
    opens_at: dt.time | None
    closes_at: dt.time | None
    created_at: dt.datetime
    updated_at: dt.datetime


class OrderIn(Schema):
    ids: list[int] = Field(min_length=1, max_length=1000, description="rule IDs, first first")


class TestIn(Schema):
    text: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    at: dt.datetime | None = Field(default=None, description="when it is sent (default: now)")


class TestOut(Schema):
    rule: RuleOut | None
    why: str


class ReplyOut(Schema):
    id: int
    rule_id: int
    webhook_event_id: str
    contact_id: int | None
    status: str
    reason: str
    request_id: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class ReplyParams(Schema):
    limit: int = Field(default=50, ge=1, le=500)


def rule_error(exc: services.RuleError) -> ApiError:
    return ApiError(422, _("The rule is not valid"), code="invalid_rule", details=exc.problems)


def rule_out(rule: Rule, position: int | None = None) -> RuleOut:
    if position is None:
        ids = list(
            Rule.objects.filter(workspace_id=rule.workspace_id)
            .in_order()
            .values_list("pk", flat=True)
        )
        position = ids.index(rule.pk) + 1
    return RuleOut(
        id=rule.pk,
        position=position,
        kind=rule.kind,
        name=rule.name,
        enabled=rule.enabled,
        match_type=rule.match_type,
        keywords=rule.keywords,
        postback_key=rule.postback_key,
        postback_value=rule.postback_value,
        messages=rule.messages,
        invite_unlinked=rule.invite_unlinked,
        add_tag=rule.add_tag,
        scenario_id=rule.scenario_id,
        open_days=rule.open_days,
        opens_at=rule.opens_at,
        closes_at=rule.closes_at,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def get_rule(caller: Caller, rule_id: int) -> Rule:
    return Rule.objects.select_related("workspace").get(workspace=caller.workspace, pk=rule_id)


@router.get(
    "",
    response={200: list[RuleOut], **COMMON_ERRORS},
    summary="List the rules, in priority order",
)
def list_rules(request: HttpRequest) -> list[RuleOut]:
    return rules(principal(request))


def rules(caller: Caller) -> list[RuleOut]:
    caller.require(Permission.VIEW)
    found = Rule.objects.filter(workspace=caller.workspace).in_order()
    return [rule_out(r, i) for i, r in enumerate(found, start=1)]


@router.post(
    "",
    response={201: RuleOut, **COMMON_ERRORS},
    summary="Create a rule (placed last)",
    description="Each problem is reported with its field, e.g. `messages[0].text` (LINE's "
    "limits) or `keywords`. Replies go by the event's reply token: free, not counted against "
    "the monthly quota; an expired token is recorded and never pushed.",
)
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[RuleOut]:
    return Status(201, create(principal(request), payload))


def create(caller: Caller, payload: RuleIn) -> RuleOut:
    caller.require(Permission.EDIT)
    try:
        rule = services.create_rule(caller.workspace, payload.model_dump())
    except services.RuleError as exc:
        raise rule_error(exc) from exc
    return rule_out(rule)


@router.post(
    "/order",
    response={200: list[RuleOut], **COMMON_ERRORS},
    summary="Reorder the rules",
    description="The listed rules come first, in that order; the others keep theirs after.",
)
def order_rules(request: HttpRequest, payload: OrderIn) -> list[RuleOut]:
    return order(principal(request), payload)


def order(caller: Caller, payload: OrderIn) -> list[RuleOut]:
    caller.require(Permission.EDIT)
    try:
        found = services.reorder(caller.workspace, payload.ids)
    except services.RuleError as exc:
        raise rule_error(exc) from exc
    return [rule_out(r, i) for i, r in enumerate(found, start=1)]


@router.post(
    "/test",
    response={200: TestOut, **COMMON_ERRORS},
    summary="Which rule would answer this message?",
)
def test_rules(request: HttpRequest, payload: TestIn) -> TestOut:
    return test(principal(request), payload)


def test(caller: Caller, payload: TestIn) -> TestOut:
    caller.require(Permission.VIEW)
    found = replies.explain(caller.workspace, payload.text, payload.at)
    return TestOut(rule=rule_out(found.rule) if found.rule else None, why=found.why)


@router.get(
    "/replies",
    response={200: list[ReplyOut], **COMMON_ERRORS},
    summary="Recent answers, newest first (replied, expired, failed)",
)
def list_replies(request: HttpRequest, params: Query[ReplyParams]) -> list[ReplyOut]:
    return recent(principal(request), params.limit)


def recent(caller: Caller, limit: int) -> list[ReplyOut]:
    caller.require(Permission.VIEW)
    rows = AutoReply.objects.filter(workspace=caller.workspace).order_by("-created_at", "-pk")
    return [
        ReplyOut(
            id=r.pk,
            rule_id=r.rule_id,
            webhook_event_id=r.webhook_event_id,
            contact_id=r.contact_id,
            status=r.status,
            reason=r.reason,
            request_id=r.request_id,
            created_at=r.created_at,
            finished_at=r.finished_at,
        )
        for r in rows[:limit]
    ]


@router.get("/{rule_id}", response={200: RuleOut, **COMMON_ERRORS}, summary="Get one rule")
def read_rule(request: HttpRequest, rule_id: int) -> RuleOut:
    return read(principal(request), rule_id)


def read(caller: Caller, rule_id: int) -> RuleOut:
    caller.require(Permission.VIEW)
    return rule_out(get_rule(caller, rule_id))


@router.patch(
    "/{rule_id}",
    response={200: RuleOut, **COMMON_ERRORS},
    summary="Change a rule (enable/disable with `enabled`)",
)
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> RuleOut:
    return update(principal(request), rule_id, payload)


def update(caller: Caller, rule_id: int, payload: RulePatch) -> RuleOut:
    caller.require(Permission.EDIT)
    try:
        rule = services.update_rule(
            get_rule(caller, rule_id), payload.model_dump(exclude_unset=True)
        )
    except services.RuleError as exc:
        raise rule_error(exc) from exc
    return rule_out(rule)


@router.delete("/{rule_id}", response={204: None, **COMMON_ERRORS}, summary="Delete a rule")
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    delete(principal(request), rule_id)
    return Status(204, None)


def delete(caller: Caller, rule_id: int) -> None:
    caller.require(Permission.EDIT)
    services.delete_rule(get_rule(caller, rule_id))
