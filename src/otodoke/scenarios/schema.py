"""What a scenario version is made of, as typed models: the trigger, the steps, the goal.

The UI builds these (staff never write JSON); the CLI and the API accept them as JSON and get
every problem back with its JSON path (`$.steps[2].messages[0].text: …`).

Trigger kinds: event-driven ones are handled by `triggers` when the thing happens; the
time-based ones (`segment_entered`, `date_attribute`, `inactivity`) by the scheduler's
evaluators (`segments.watches`, `scenarios.timed`), whose params they validate themselves.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Self

from django.utils.translation import gettext as _
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from otodoke.segments import schema as seg

EVENT_TRIGGERS = (
    "friend_added",
    "contact_linked",
    "tag_added",
    "event",
    "link_clicked",
    "keyword",
    "postback",
)
TIMED_TRIGGERS = ("segment_entered", "date_attribute", "inactivity")
TRIGGER_KINDS = (*EVENT_TRIGGERS, *TIMED_TRIGGERS)
MAX_STEPS = 50
TagName = Annotated[str, Field(min_length=1, max_length=100)]


def _event_kind(value: str) -> str:
    from otodoke.contacts.models import is_event_kind

    if not is_event_kind(value):
        kinds = "visit, purchase, cart, signup, custom:<name>"
        raise ValueError(
            _("%(value)s is not an event kind (%(kinds)s)") % {"value": value, "kinds": kinds}
        )
    return value


EventKind = Annotated[str, Field(min_length=1, max_length=60), AfterValidator(_event_kind)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- triggers --------------------------------------------------------------------------------


class FriendAdded(_Model):
    # Also when a friend who had blocked the account unblocks it (LINE sends a follow event).
    include_refollow: bool = True


class ContactLinked(_Model):
    pass


class TagAdded(_Model):
    tag: TagName


class EventReceived(_Model):
    event: EventKind
    # The same tests as a segment's event condition: amount, source, or a property.
    where: Annotated[list[seg.PropertyFilter], Field(max_length=20)] = []


class LinkClicked(_Model):
    # A tracked link, or any link of a campaign; neither: any tracked link.
    link_id: int | None = None
    campaign_id: int | None = None


class KeywordReceived(_Model):
    keywords: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]],
        Field(min_length=1, max_length=50),
    ]
    match: Literal["exact", "contains"] = "exact"


class PostbackReceived(_Model):
    # The postback's data exactly, or one key=value of it (`action=coupon`).
    data: Annotated[str, Field(max_length=300)] | None = None
    key: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    value: Annotated[str, Field(max_length=300)] | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if self.data is None and self.key is None:
            raise ValueError(_("give data, or a key (and a value)"))
        return self


class TimedParams(BaseModel):
    """Validated by the evaluator that owns the kind."""

    model_config = ConfigDict(extra="allow", frozen=True)


TRIGGER_PARAMS: dict[str, type[BaseModel]] = {
    "friend_added": FriendAdded,
    "contact_linked": ContactLinked,
    "tag_added": TagAdded,
    "event": EventReceived,
    "link_clicked": LinkClicked,
    "keyword": KeywordReceived,
    "postback": PostbackReceived,
    "segment_entered": TimedParams,
    "date_attribute": TimedParams,
    "inactivity": TimedParams,
}


class Trigger(_Model):
    kind: Literal[
        "friend_added",
        "contact_linked",
        "tag_added",
        "event",
        "link_clicked",
        "keyword",
        "postback",
        "segment_entered",
        "date_attribute",
        "inactivity",
    ]
    params: dict[str, Any] = {}

    @model_validator(mode="after")
    def _params(self) -> Self:
        try:
            TRIGGER_PARAMS[self.kind].model_validate(self.params)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ValueError(
                f"@params{_loc(tuple(first['loc'])).removeprefix('$')}: {first['msg']}"
            ) from None
        return self

    def parsed(self) -> Any:
        return TRIGGER_PARAMS[self.kind].model_validate(self.params)


# --- steps -----------------------------------------------------------------------------------

Clock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Wait(_Model):
    """`duration`: days/hours/minutes after the previous step; `time_of_day`: the next `at`
    (workspace time); `weekday`: the next given weekday (0 = Monday) at `at`."""

    type: Literal["wait"]
    mode: Literal["duration", "time_of_day", "weekday"] = "duration"
    days: Annotated[int, Field(ge=0, le=3650)] = 0
    hours: Annotated[int, Field(ge=0, le=1000)] = 0
    minutes: Annotated[int, Field(ge=0, le=100000)] = 0
    at: Clock | None = None
    weekday: Annotated[int, Field(ge=0, le=6)] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.mode == "duration" and not (self.days or self.hours or self.minutes):
            raise ValueError(_("a wait needs days, hours or minutes"))
        if self.mode in ("time_of_day", "weekday") and self.at is None:
            raise ValueError(_("give the time of day (at), e.g. 10:00"))
        if self.mode == "weekday" and self.weekday is None:
            raise ValueError(_("give the weekday (0 = Monday … 6 = Sunday)"))
        return self

    @property
    def at_time(self) -> dt.time:
        assert self.at is not None
        hour, minute = self.at.split(":")
        return dt.time(int(hour), int(minute))


class SendMessage(_Model):
    type: Literal["send"]
    # 1–5 LINE message objects; checked with the campaign composer's validation.
    messages: list[dict[str, Any]]
    track_links: bool = True
    notification_disabled: bool = False
    # False: an immediate answer to the friend's own action (a welcome on follow, a reply to a
    # keyword) goes out at once, even inside the workspace's quiet hours.
    quiet_hours: bool = True


class AddTag(_Model):
    type: Literal["add_tag"]
    tag: TagName


class RemoveTag(_Model):
    type: Literal["remove_tag"]
    tag: TagName


class SetAttribute(_Model):
    type: Literal["set_attribute"]
    key: seg.JsonKey
    value: seg.Scalar | None


class Branch(_Model):
    """If the contact matches `condition` go to step `then`, else to `otherwise` (step
    indexes, forward only; null = the next step)."""

    type: Literal["branch"]
    condition: dict[str, Any]
    then: int | None = None
    otherwise: int | None = None


class Exit(_Model):
    type: Literal["exit"]


Step = Annotated[
    Wait | SendMessage | AddTag | RemoveTag | SetAttribute | Branch | Exit,
    Field(discriminator="type"),
]


class Goal(_Model):
    """Converted when the contact has an event of `event` (with `where`) since entering, or
    matches `definition`."""

    event: EventKind | None = None
    where: Annotated[list[seg.PropertyFilter], Field(max_length=20)] = []
    definition: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.event is None and self.definition is None:
            raise ValueError(_("a goal needs an event or a condition"))
        return self


class VersionSpec(_Model):
    trigger: Trigger
    conditions: dict[str, Any] | None = None
    entry_rule: Literal["once", "after_days", "every"] = "once"
    reentry_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    goal: Goal | None = None
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.entry_rule == "after_days" and self.reentry_days is None:
            raise ValueError(_("entry rule after_days needs reentry_days"))
        return self


class SpecError(ValueError):
    """Every problem of a scenario definition, each with its JSON path."""

    def __init__(self, problems: list[seg.Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    def as_json(self) -> list[dict[str, str]]:
        return [{"path": p.path, "message": p.message} for p in self.problems]


def _loc(loc: tuple[int | str, ...]) -> str:
    path = "$"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in {"wait", "send", "add_tag", "remove_tag", "set_attribute", "branch", "exit"}:
            continue  # pydantic's discriminator tag, not a key of the input
        else:
            path += f".{part}"
    return path


def _problem(error: Any) -> seg.Problem:
    path = _loc(tuple(error["loc"]))
    message = str(error["msg"]).removeprefix("Value error, ")
    if message.startswith("@"):
        # A nested model's own error (trigger params): "@params.tag: Field required".
        where, message = message[1:].split(": ", 1)
        path = f"{path}.{where}"
    return seg.Problem(path, message)


def parse_spec(data: Any) -> VersionSpec:
    """A scenario version from JSON-like data, or SpecError naming each problem's path.
    Messages, segment definitions and branch targets are checked here too."""
    from otodoke.messaging.personalize import TemplateProblem, check_templates
    from otodoke.messaging.validation import message_problems

    try:
        spec = VersionSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError([_problem(e) for e in exc.errors()]) from exc
    problems: list[seg.Problem] = []

    def definition(value: dict[str, Any] | None, path: str) -> None:
        if value is None:
            return
        try:
            seg.parse_definition(value)
        except seg.DefinitionError as exc:
            problems.extend(
                seg.Problem(path + p.path.removeprefix("$"), p.message) for p in exc.problems
            )

    definition(spec.conditions, "$.conditions")
    if spec.goal is not None:
        definition(spec.goal.definition, "$.goal.definition")
    count = len(spec.steps)
    for i, step in enumerate(spec.steps):
        path = f"$.steps[{i}]"
        if isinstance(step, SendMessage):
            found = message_problems(step.messages)
            problems += [seg.Problem(f"{path}.{p.path}", p.message) for p in found]
            if not found:
                try:
                    check_templates(step.messages)
                except TemplateProblem as exc:
                    problems.append(seg.Problem(f"{path}.{exc.path}", exc.message))
        elif isinstance(step, Branch):
            definition(step.condition, f"{path}.condition")
            for name in ("then", "otherwise"):
                target = getattr(step, name)
                if target is not None and not i < target <= count:
                    problems.append(
                        seg.Problem(
                            f"{path}.{name}",
                            _(
                                "a branch jumps forward: give a step index from %(first)s to "
                                "%(end)s (%(end)s = the end); %(target)s is not one"
                            )
                            % {"first": i + 1, "end": count, "target": target},
                        )
                    )
    if problems:
        raise SpecError(problems)
    return spec


def dump_spec(spec: VersionSpec) -> dict[str, Any]:
    data: dict[str, Any] = spec.model_dump(mode="json", exclude_none=False)
    return data
