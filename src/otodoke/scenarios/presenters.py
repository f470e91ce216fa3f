"""Read-only shapes of scenarios for the pages: Japanese summaries of triggers and steps, the
list's counts, the statistics chart and a contact's enrolments. Everything that changes a
scenario goes through `scenarios.services`; this module only reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otodoke.scenarios.models import (
    Enrolment,
    EnrolmentStatus,
    ExitReason,
    Scenario,
    ScenarioVersion,
)
from otodoke.segments import schema as seg
from otodoke.segments.models import Segment

WEEKDAYS = ("月", "火", "水", "木", "金", "土", "日")


def _event_name(kind: str) -> str:
    names = {
        "purchase": _("purchase"),
        "visit": _("visit"),
        "cart": _("cart"),
        "signup": _("sign-up"),
    }
    return names.get(kind, kind.removeprefix("custom:"))


def _where(filters: list[dict[str, Any]]) -> str:
    parts = [f"{f.get('key')} {f.get('op')} {f.get('value')}" for f in filters]
    return f" ({', '.join(parts)})" if parts else ""


def date_on(params: dict[str, Any]) -> str:
    """`birthday_month`, `birthday` or `attribute` (scenarios.timed's `on`); the presets'
    older shape (`match: month|day`) reads the same."""
    on = params.get("on")
    if on:
        return str(on)
    return {"month": "birthday_month", "day": "birthday"}.get(str(params.get("match")), "attribute")


def trigger_summary(trigger: dict[str, Any]) -> str:
    """What starts the scenario, in the staff's language."""
    kind = trigger.get("kind", "")
    p: dict[str, Any] = trigger.get("params") or {}
    if kind == "friend_added":
        if p.get("include_refollow", True):
            return _("When someone adds the account as a friend (also after unblocking)")
        return _("When someone adds the account as a friend")
    if kind == "contact_linked":
        return _("When a customer links their LINE account")
    if kind == "tag_added":
        return _("When the tag “%(tag)s” is added") % {"tag": p.get("tag", "")}
    if kind == "event":
        return _("When a %(event)s event is received%(where)s") % {
            "event": _event_name(str(p.get("event", ""))),
            "where": _where(p.get("where") or []),
        }
    if kind == "link_clicked":
        return _("When a tracked link is clicked")
    if kind == "keyword":
        return _("When a message says %(words)s") % {
            "words": "、".join(f"「{w}」" for w in p.get("keywords") or [])
        }
    if kind == "postback":
        return _("When a postback %(data)s is received") % {
            "data": p.get("data") or f"{p.get('key')}={p.get('value') or ''}"
        }
    if kind == "segment_entered":
        return _("When a contact starts matching the conditions")
    if kind == "date_attribute":
        at = p.get("at", "00:00")
        if date_on(p) == "birthday_month":
            return _("On the 1st of the birth month at %(at)s") % {"at": at}
        if date_on(p) == "birthday":
            return _("On the birthday at %(at)s") % {"at": at}
        return _("%(days)s days from the date in “%(key)s”, at %(at)s") % {
            "days": p.get("offset_days", 0),
            "key": p.get("key", ""),
            "at": at,
        }
    if kind == "inactivity":
        return _("No %(event)s for %(days)s days (checked at %(at)s)") % {
            "event": _event_name(str(p.get("event", ""))),
            "days": p.get("days", ""),
            "at": p.get("at", "00:00"),
        }
    return str(kind)


def _duration(step: dict[str, Any]) -> str:
    parts = []
    if step.get("days"):
        parts.append(_("%(n)s days") % {"n": step["days"]})
    if step.get("hours"):
        parts.append(_("%(n)s hours") % {"n": step["hours"]})
    if step.get("minutes"):
        parts.append(_("%(n)s minutes") % {"n": step["minutes"]})
    return " ".join(parts)


STEP_TYPES: list[tuple[str, Promise]] = [
    ("wait", gettext_lazy("Wait")),
    ("send", gettext_lazy("Send a message")),
    ("add_tag", gettext_lazy("Add a tag")),
    ("remove_tag", gettext_lazy("Remove a tag")),
    ("set_attribute", gettext_lazy("Set an attribute")),
    ("branch", gettext_lazy("Branch")),
    ("exit", gettext_lazy("Exit")),
]


def step_types() -> list[tuple[str, str]]:
    return [(key, str(label)) for key, label in STEP_TYPES]


def step_title(kind: str) -> str:
    return dict(step_types()).get(kind, kind)


def step_summary(step: dict[str, Any], count: int) -> str:
    kind = step.get("type")
    if kind == "wait":
        mode = step.get("mode", "duration")
        if mode == "time_of_day":
            return _("Wait until %(at)s") % {"at": step.get("at")}
        if mode == "weekday":
            day = step.get("weekday")
            name = WEEKDAYS[day] if isinstance(day, int) and 0 <= day < 7 else "?"
            return _("Wait until %(day)s at %(at)s") % {"day": name, "at": step.get("at")}
        return _("Wait %(duration)s") % {"duration": _duration(step)}
    if kind == "send":
        return _("%(n)s message(s)") % {"n": len(step.get("messages") or [])}
    if kind in ("add_tag", "remove_tag"):
        return f"“{step.get('tag', '')}”"
    if kind == "set_attribute":
        return f"{step.get('key')} = {step.get('value')}"
    if kind == "branch":

        def target(value: Any) -> str:
            if value is None:
                return _("the next step")
            if value >= count:
                return _("the end")
            return _("step %(n)s") % {"n": value + 1}

        return _("If the condition matches go to %(then)s, else to %(otherwise)s") % {
            "then": target(step.get("then")),
            "otherwise": target(step.get("otherwise")),
        }
    if kind == "exit":
        return _("The contact leaves the scenario")
    return str(kind)


def condition_summary(definition: dict[str, Any] | None, workspace_id: int) -> str:
    """A condition the UI builds from a saved segment reads as that segment's name."""
    if not definition:
        return ""
    where = definition.get("where") or {}
    if where.get("kind") == "in_segment":
        segment_id = int(where.get("segment_id") or 0)
        name = (
            Segment.objects.filter(workspace_id=workspace_id, pk=segment_id)
            .values_list("name", flat=True)
            .first()
        )
        return _("In the segment “%(name)s”") % {"name": name or f"#{where.get('segment_id')}"}
    if where.get("kind") == "line_linked":
        return _("Linked to LINE") if where.get("value", True) else _("Not linked to LINE")
    from otodoke.web.segments import summary_of
    from otodoke.workspaces.models import Workspace

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    return summary_of(definition, workspace) if workspace else _("Custom conditions")


def goal_summary(goal: dict[str, Any] | None, workspace_id: int) -> str:
    if not goal:
        return ""
    parts = []
    if goal.get("event"):
        parts.append(
            _("a %(event)s event%(where)s after entering")
            % {"event": _event_name(str(goal["event"])), "where": _where(goal.get("where") or [])}
        )
    if goal.get("definition"):
        parts.append(condition_summary(goal["definition"], workspace_id))
    return _("Converted on %(what)s") % {"what": _(" or ").join(parts)}


# --- the list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioRow:
    scenario: Scenario
    trigger: str
    active: int
    completed: int
    converted: int


def scenario_rows(scenarios: list[Scenario]) -> list[ScenarioRow]:
    """Each scenario with its trigger in words and its enrolment counts, in two queries."""
    counts: dict[tuple[int, str], int] = {
        (sid, status): n
        for sid, status, n in Enrolment.objects.filter(scenario__in=scenarios)
        .values_list("scenario_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    }
    rows = []
    for scenario in scenarios:
        version = scenario.current_version
        rows.append(
            ScenarioRow(
                scenario,
                trigger_summary(version.trigger) if version else "",
                counts.get((scenario.pk, EnrolmentStatus.ACTIVE), 0),
                counts.get((scenario.pk, EnrolmentStatus.COMPLETED), 0),
                counts.get((scenario.pk, EnrolmentStatus.CONVERTED), 0),
            )
        )
    return rows


# --- statistics chart -------------------------------------------------------------------------


@dataclass(frozen=True)
class StepBar:
    index: int
    title: str
    entered: int
    waiting: int
    sent: int
    failed: int
    pending: int
    y: float
    entered_width: float
    sent_width: float
    failed_width: float
    failed_x: float


@dataclass(frozen=True)
class StepChart:
    width: int
    height: int
    label_width: int
    bars: list[StepBar]
    peak: int


ROW_HEIGHT = 28


def step_chart(stats: dict[str, Any], *, width: int = 560) -> StepChart:
    """Horizontal bars per step: contacts who reached it (entered), and of a send step the
    messages sent and failed. Reached = waiting at it + every later position, approximated
    from the counts the engine keeps: those still at it or past it."""
    steps: list[dict[str, Any]] = stats.get("steps") or []
    finished = stats.get("completed", 0) + stats.get("converted", 0) + stats.get("exited", 0)
    label_width = 140
    # Everybody still inside at step i or later, plus everyone who finished, reached step i
    # (those who left early are counted by exit reason, not here).
    reached = []
    later = finished
    for step in reversed(steps):
        later += step["waiting"]
        reached.append(later)
    reached.reverse()
    entered = [min(r, stats.get("entered", 0)) for r in reached]
    peak = max([1, *entered, *(s["sent"] + s["failed"] for s in steps)])
    scale = (width - label_width - 60) / peak
    bars = [
        StepBar(
            index=s["index"],
            title=step_title(str(s["type"])),
            entered=entered[i],
            waiting=s["waiting"],
            sent=s["sent"],
            failed=s["failed"],
            pending=s["pending"],
            y=i * ROW_HEIGHT,
            entered_width=round(entered[i] * scale, 2),
            sent_width=round(s["sent"] * scale, 2),
            failed_width=round(s["failed"] * scale, 2),
            failed_x=round(label_width + s["sent"] * scale, 2),
        )
        for i, s in enumerate(steps)
    ]
    return StepChart(width, max(ROW_HEIGHT, ROW_HEIGHT * len(bars)), label_width, bars, peak)


def exit_reasons(stats: dict[str, Any]) -> list[tuple[str, int]]:
    labels = dict(ExitReason.choices)
    found: dict[str, int] = stats.get("exit_reasons") or {}
    return [(str(labels.get(reason, reason)), n) for reason, n in sorted(found.items())]


# --- a contact's page -------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentRow:
    enrolment: Enrolment
    scenario: Scenario
    current_step: str
    next_step: str


def contact_enrolments(contact_id: int, *, limit: int = 20) -> list[EnrolmentRow]:
    """The contact's scenario runs, newest first, with the step they are at and what comes
    next (and when: `enrolment.next_due_at`)."""
    found = (
        Enrolment.objects.filter(contact_id=contact_id)
        .select_related("scenario", "version")
        .order_by("-entered_at", "-id")[:limit]
    )
    rows = []
    for enrolment in found:
        version: ScenarioVersion = enrolment.version
        steps: list[dict[str, Any]] = version.steps or []
        index = enrolment.step_index
        current = (
            _("Step %(n)s: %(title)s")
            % {"n": index + 1, "title": step_title(str(steps[index].get("type")))}
            if enrolment.status == EnrolmentStatus.ACTIVE and index < len(steps)
            else ""
        )
        upcoming = ""
        if enrolment.status == EnrolmentStatus.ACTIVE and index < len(steps):
            upcoming = step_summary(steps[index], len(steps))
        rows.append(EnrolmentRow(enrolment, enrolment.scenario, current, upcoming))
    return rows


def activation_check(scenario: Scenario) -> list[seg.Problem]:
    """`services.activation_problems`: every problem that stops the scenario from running."""
    from otodoke.scenarios import services

    return services.activation_problems(scenario)
