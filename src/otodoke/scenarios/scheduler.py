"""The scheduler's pass over due enrolments: claim, let leavers leave, count conversions,
advance every non-send step in bulk, and record due sends in the ledger.

`tick` is what the periodic task (and a trigger's kick) runs; it is safe to run any number of
times concurrently: enrolments are claimed under a lease (a conditional UPDATE; `SKIP LOCKED`
candidates on PostgreSQL), every change is written only while the lease is held, and a send is
recorded once per (enrolment, step) by the ledger's unique constraint.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from otodoke.contacts.models import Contact, Event, LineStatus, TagSource
from otodoke.contacts.signals import contacts_changed
from otodoke.contacts.tagging import add_tags, remove_tags
from otodoke.scenarios import schema, sending, timing
from otodoke.scenarios.dispatch import dispatch
from otodoke.scenarios.models import (
    AutomationSettings,
    Enrolment,
    EnrolmentStatus,
    ExitReason,
    Scenario,
    ScenarioStatus,
    ScenarioVersion,
)
from otodoke.segments.compiler import column_test, compile_definition, json_test
from otodoke.segments.schema import EVENT_COLUMNS, parse_definition
from otodoke.workspaces.models import Workspace

LEASE = dt.timedelta(seconds=120)
CLAIM = 2000


@dataclass
class TickResult:
    claimed: int = 0
    advanced: int = 0
    recorded: int = 0
    completed: int = 0
    converted: int = 0
    exited: int = 0
    held: int = 0
    dispatch: sending.DispatchResult = field(default_factory=sending.DispatchResult)

    def as_dict(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "advanced": self.advanced,
            "recorded": self.recorded,
            "completed": self.completed,
            "converted": self.converted,
            "exited": self.exited,
            "held": self.held,
            "sent": self.dispatch.sent,
            "failed": self.dispatch.failed,
            "retrying": self.dispatch.retrying,
        }


def _due(now: dt.datetime) -> Q:
    return Q(
        status=EnrolmentStatus.ACTIVE,
        next_due_at__lte=now,
        scenario__status=ScenarioStatus.ACTIVE,
    ) & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))


def claim(now: dt.datetime, *, limit: int = CLAIM, workspace_id: int | None = None) -> uuid.UUID:
    token = uuid.uuid4()
    with transaction.atomic():
        candidates = Enrolment.objects.filter(_due(now))
        if workspace_id is not None:
            candidates = candidates.filter(scenario__workspace_id=workspace_id)
        if connection.vendor == "postgresql":
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ids = list(candidates.order_by("next_due_at", "id").values_list("id", flat=True)[:limit])
        if ids:
            Enrolment.objects.filter(id__in=ids).filter(_due(now)).update(
                lease_token=token, lease_until=now + LEASE
            )
    return token


def _finish(ids: list[int], token: uuid.UUID, status: str, reason: str, now: dt.datetime) -> int:
    if not ids:
        return 0
    return Enrolment.objects.filter(id__in=ids, lease_token=token).update(
        status=status,
        exit_reason=reason,
        finished_at=now,
        next_due_at=None,
        lease_token=None,
        lease_until=None,
    )


@dataclass
class Member:
    """A claimed enrolment and the contact facts the steps need."""

    id: int
    contact_id: int
    entered_at: dt.datetime
    step_index: int
    line_user_id: str = ""
    name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


def _goal_q(workspace: Workspace, goal: schema.Goal, now: dt.datetime) -> Q:
    """Contacts who reached the goal: an event since entering, and/or a condition."""
    q = Q()
    if goal.event is not None:
        events = Event.objects.filter(
            workspace=workspace,
            contact=OuterRef("contact_id"),
            kind=goal.event,
            occurred_at__gte=OuterRef("entered_at"),
        )
        for test in goal.where:
            if test.key in EVENT_COLUMNS:
                events = events.filter(column_test(test.key, test.op, test.value))
            else:
                events = events.filter(json_test("properties", test.key, test.op, test.value))
        q &= Q(Exists(events))
    if goal.definition is not None:
        matching = Contact.objects.filter(workspace=workspace, pk=OuterRef("contact_id")).filter(
            compile_definition(workspace, parse_definition(goal.definition), now=now)
        )
        q &= Q(Exists(matching))
    return q


def converted_ids(
    workspace: Workspace, version: ScenarioVersion, ids: list[int], now: dt.datetime
) -> list[int]:
    if not version.goal or not ids:
        return []
    goal = schema.Goal.model_validate(version.goal)
    return list(
        Enrolment.objects.filter(id__in=ids)
        .filter(_goal_q(workspace, goal, now))
        .values_list("id", flat=True)
    )


def check_goals(workspace: Workspace, contact_ids: list[int], *, now: dt.datetime) -> int:
    """After new events: enrolments of these contacts that reached their goal convert now,
    not only at their next step."""
    rows = list(
        Enrolment.objects.filter(
            contact_id__in=contact_ids,
            status=EnrolmentStatus.ACTIVE,
            scenario__workspace=workspace,
        )
        .filter(version__goal__isnull=False)
        .values_list("id", "version_id")
    )
    by_version: dict[int, list[int]] = defaultdict(list)
    for eid, vid in rows:
        by_version[vid].append(eid)
    done = 0
    for version in ScenarioVersion.objects.filter(pk__in=list(by_version)):
        ids = converted_ids(workspace, version, by_version[version.pk], now)
        if ids:
            done += Enrolment.objects.filter(id__in=ids, status=EnrolmentStatus.ACTIVE).update(
                status=EnrolmentStatus.CONVERTED,
                exit_reason="",
                finished_at=now,
                next_due_at=None,
                lease_token=None,
                lease_until=None,
            )
    return done


def exit_contacts(contact_ids: list[int], reason: str, *, now: dt.datetime) -> int:
    """Contacts who left (blocked, withdrew consent, deleted) leave every scenario."""
    return Enrolment.objects.filter(
        contact_id__in=contact_ids, status=EnrolmentStatus.ACTIVE
    ).update(
        status=EnrolmentStatus.EXITED,
        exit_reason=reason,
        finished_at=now,
        next_due_at=None,
        lease_token=None,
        lease_until=None,
    )


class _Pass:
    """One claimed group (a version of a scenario) moved forward as far as it can go now."""

    def __init__(
        self,
        scenario: Scenario,
        version: ScenarioVersion,
        members: list[Member],
        token: uuid.UUID,
        now: dt.datetime,
        result: TickResult,
        quota: dict[int, int | None],
    ) -> None:
        self.scenario = scenario
        self.workspace = scenario.workspace
        self.version = version
        self.steps = schema.VersionSpec.model_validate(
            {"trigger": version.trigger, "steps": version.steps}
        ).steps
        self.members = members
        self.token = token
        self.now = now
        self.result = result
        self.quota = quota
        self.tz = self.workspace.tzinfo
        self.settings = AutomationSettings.objects.filter(workspace=self.workspace).first()

    def park(self, members: list[Member], index: int, due: dt.datetime) -> None:
        if members:
            Enrolment.objects.filter(id__in=[m.id for m in members], lease_token=self.token).update(
                step_index=index, next_due_at=due, lease_token=None, lease_until=None
            )

    def run(self) -> None:
        at: dict[int, list[Member]] = defaultdict(list)
        for m in self.members:
            at[m.step_index].append(m)
        # Forward only (branches jump forward), so one sweep over the indexes is enough.
        for index in range(len(self.steps) + 1):
            group = at.pop(index, [])
            if not group:
                continue
            if index >= len(self.steps):
                self.result.completed += _finish(
                    [m.id for m in group], self.token, EnrolmentStatus.COMPLETED, "", self.now
                )
                continue
            for target, moved in self.apply(index, self.steps[index], group).items():
                at[target].extend(moved)
                self.result.advanced += len(moved)

    def apply(self, index: int, step: Any, group: list[Member]) -> dict[int, list[Member]]:
        """Run step `index` for `group`; returns who moves on to which step now (the rest
        were parked or finished here)."""
        ids = [m.contact_id for m in group]
        nxt = index + 1
        if isinstance(step, schema.Wait):
            # Whoever reaches a wait starts it now and is parked on the step after it.
            self.park(group, nxt, timing.wait_until(step, self.now, self.tz))
            return {}
        if isinstance(step, schema.SendMessage):
            return self.send(index, step, group)
        if isinstance(step, schema.AddTag):
            add_tags(self.workspace, ids, [step.tag], source=TagSource.AUTO, at=self.now)
        elif isinstance(step, schema.RemoveTag):
            remove_tags(self.workspace, ids, [step.tag])
        elif isinstance(step, schema.SetAttribute):
            self.set_attribute(ids, step)
        elif isinstance(step, schema.Branch):
            q = compile_definition(self.workspace, parse_definition(step.condition), now=self.now)
            yes = set(
                Contact.objects.filter(workspace=self.workspace, pk__in=ids)
                .filter(q)
                .values_list("pk", flat=True)
            )
            then = step.then if step.then is not None else nxt
            otherwise = step.otherwise if step.otherwise is not None else nxt
            out: dict[int, list[Member]] = defaultdict(list)
            for m in group:
                out[then if m.contact_id in yes else otherwise].append(m)
            return out
        elif isinstance(step, schema.Exit):
            self.result.completed += _finish(
                [m.id for m in group],
                self.token,
                EnrolmentStatus.COMPLETED,
                ExitReason.EXIT_STEP,
                self.now,
            )
            return {}
        return {nxt: group}

    def set_attribute(self, ids: list[int], step: schema.SetAttribute) -> None:
        contacts = list(Contact.objects.filter(workspace=self.workspace, pk__in=ids))
        for c in contacts:
            attrs = dict(c.attributes or {})
            if step.value is None:
                attrs.pop(step.key, None)
            else:
                attrs[step.key] = step.value
            c.attributes = attrs
            c.updated_at = self.now
        Contact.objects.bulk_update(contacts, ["attributes", "updated_at"], batch_size=500)
        if contacts:
            contacts_changed.send(
                sender=Contact,
                workspace=self.workspace,
                contact_ids=[c.pk for c in contacts],
                at=self.now,
            )

    def send(
        self, index: int, step: schema.SendMessage, group: list[Member]
    ) -> dict[int, list[Member]]:
        quiet = timing.quiet_until(self.settings, self.now, self.tz) if step.quiet_hours else None
        if quiet is not None:
            self.park(group, index, quiet)
            self.result.held += len(group)
            return {}
        ws = self.workspace.pk
        if ws not in self.quota:
            self.quota[ws] = sending.quota_room(self.workspace)
        room = self.quota[ws]
        if room is not None and room < len(group):
            self.park(group, index, self.now + sending.QUOTA_HOLD)
            Scenario.objects.filter(pk=self.scenario.pk).update(status_reason=sending.hold_reason())
            self.result.held += len(group)
            return {}
        recipients = [
            sending.Recipient(m.id, m.contact_id, m.line_user_id, m.name, m.attributes)
            for m in group
        ]
        try:
            recorded = sending.record_sends(
                self.workspace, self.version, index, step, recipients, now=self.now
            )
        except IntegrityError:
            # Another worker recorded some of them at the same moment: look again shortly.
            self.park(group, index, self.now + dt.timedelta(seconds=5))
            return {}
        if room is not None:
            self.quota[ws] = room - len(group)
        if self.scenario.status_reason:
            Scenario.objects.filter(pk=self.scenario.pk).update(status_reason="")
            self.scenario.status_reason = ""
        self.result.recorded += len(recorded)
        return {index + 1: [m for m in group if m.id in recorded]}


def tick(
    *,
    now: dt.datetime | None = None,
    workspace_id: int | None = None,
    send: bool = True,
    budget_seconds: float = 30.0,
) -> TickResult:
    """One pass: due enrolments move on; then recorded sends go out (unless `send=False`)."""
    moment = now or timezone.now()
    result = TickResult()
    quota: dict[int, int | None] = {}
    # Time-based triggers (birthdays, inactivity, entered a segment) enrol first, so their
    # first step goes out in this same pass.
    from otodoke.scenarios.timed import tick_all

    tick_all(moment, workspace_id=workspace_id)
    while True:
        token = claim(moment, workspace_id=workspace_id)
        rows = list(
            Enrolment.objects.filter(lease_token=token).values_list(
                "id", "scenario_id", "version_id", "contact_id", "entered_at", "step_index"
            )
        )
        if not rows:
            break
        result.claimed += len(rows)
        _advance(rows, token, moment, result, quota)
        if len(rows) < CLAIM:
            break
    if send:
        result.dispatch = dispatch(
            now=now, workspace_id=workspace_id, budget_seconds=budget_seconds
        )
    return result


def _advance(
    rows: list[tuple[int, int, int, int, dt.datetime, int]],
    token: uuid.UUID,
    now: dt.datetime,
    result: TickResult,
    quota: dict[int, int | None],
) -> None:
    contacts = {
        c["pk"]: c
        for c in Contact.objects.filter(pk__in={r[3] for r in rows}).values(
            "pk", "line_user_id", "line_status", "marketing_consent", "name", "attributes"
        )
    }
    leaving: dict[str, list[int]] = defaultdict(list)
    groups: dict[int, list[Member]] = defaultdict(list)
    for eid, _sid, vid, cid, entered, index in rows:
        c = contacts.get(cid)
        if c is None:
            leaving[ExitReason.DELETED].append(eid)
        elif not c["line_user_id"] or c["line_status"] != LineStatus.FOLLOWING:
            leaving[ExitReason.BLOCKED].append(eid)
        elif not c["marketing_consent"]:
            leaving[ExitReason.NO_CONSENT].append(eid)
        else:
            groups[vid].append(
                Member(eid, cid, entered, index, c["line_user_id"], c["name"], c["attributes"])
            )
    for reason, ids in leaving.items():
        result.exited += _finish(ids, token, EnrolmentStatus.EXITED, reason, now)
    versions = ScenarioVersion.objects.filter(pk__in=list(groups)).select_related(
        "scenario__workspace"
    )
    for version in versions:
        members = groups[version.pk]
        won = set(converted_ids(version.scenario.workspace, version, [m.id for m in members], now))
        if won:
            result.converted += _finish(list(won), token, EnrolmentStatus.CONVERTED, "", now)
            members = [m for m in members if m.id not in won]
        _Pass(version.scenario, version, members, token, now, result, quota).run()
