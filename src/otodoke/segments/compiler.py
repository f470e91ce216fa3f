"""Compile a segment definition into one ORM filter over Contact.

Every condition becomes a ``Q`` on the contact row (columns, or EXISTS / scalar subqueries on
tags, events, audience members and clicks), so a whole tree is one SQL statement on both
databases with nothing filtered in Python.

Three-valued logic: each leaf is compiled so that it is TRUE or FALSE, never NULL. Missing data
(no birth date, no last visit, an absent attribute key) makes a leaf FALSE. ``not`` is then the
exact complement within the workspace: a contact without a birth date does not match
``age 30–39`` and does match ``not(age 30–39)``. Columns that may be NULL get an explicit
``IS NOT NULL``; JSON tests are wrapped in ``CASE WHEN … THEN TRUE ELSE FALSE END``; aggregate
subqueries are COALESCEd to 0.

Time: "N days ago" is the start (00:00) of the local day N days before today in the workspace
time zone, converted to UTC; "today" is the local date of ``now`` in that zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import HasKey, KeyTextTransform
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThanOrEqual, IContains, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.contacts.models import ContactTag, Event, LineStatus
from otodoke.segments import schema as s
from otodoke.segments.models import Audience, AudienceMember, Segment
from otodoke.tracking.models import Click, TrackedLink
from otodoke.workspaces.models import Workspace

# A condition that holds for every row; Q() cannot be negated into "nothing".
_TRUE = Q(pk__isnull=False)
_FALSE = Q(pk__isnull=True)


@dataclass
class Clock:
    """The workspace's notion of today and of "N days ago" at one fixed instant."""

    now: dt.datetime
    tz: ZoneInfo

    @classmethod
    def for_workspace(cls, workspace: Workspace, now: dt.datetime | None = None) -> Clock:
        instant = now or timezone.now()
        if timezone.is_naive(instant):
            raise ValueError("now must be an aware datetime")
        return cls(now=instant, tz=workspace.tzinfo)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.tz).date()

    def day_start(self, day: dt.date) -> dt.datetime:
        """00:00 local on `day`, as UTC."""
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.tz).astimezone(dt.UTC)

    def days_ago(self, days: int) -> dt.datetime:
        return self.day_start(self.today - dt.timedelta(days=days))


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar date `years` earlier; 29 Feb becomes 28 Feb in a common year, so a
    person born on 29 Feb turns a year older on 1 Mar in common years."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _two_valued(condition: Any) -> Q:
    """TRUE/FALSE even when `condition` is NULL (JSON values), so NOT stays a complement."""
    return Q(
        Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())
    )


class JsonIsNumber(Func):
    """The JSON value under `key` is a number. Comparing a JSON string with a number orders
    by type differently on SQLite and PostgreSQL, so numeric filters test the type first."""

    output_field = BooleanField()

    def __init__(self, column: str, key: str) -> None:
        super().__init__(F(column))
        self.key = key

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        sql, params = compiler.compile(self.source_expressions[0])
        path = connection.ops.compile_json_path([self.key])
        return f"json_type({sql}, %s) IN ('integer', 'real')", (*params, path)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"jsonb_typeof({sql} -> %s) = 'number'", (*params, self.key)


def json_test(column: str, key: str, op: str, value: Any) -> Q:
    """One test on a JSON object column's key (custom attributes, event properties)."""
    if op == "exists":
        return Q(HasKey(F(column), key))
    # The keyword route (column__key__lookup) is the one Django encodes JSON values for on
    # both databases; the explicit final lookup makes `key` a key even when it is named like
    # a lookup ("contains", "in").
    prefix = f"{column}__{key}"
    if op == "equals":
        return _two_valued(Q(**{f"{prefix}__exact": value}))
    if op == "in":
        return _two_valued(Q(**{f"{prefix}__in": list(value)}))
    if op == "contains":
        return _two_valued(IContains(KeyTextTransform(key, column), value))
    if op in {"gte", "lte"}:
        return _two_valued(Q(JsonIsNumber(column, key)) & Q(**{f"{prefix}__{op}": value}))
    raise ValueError(f"unknown JSON test {op}")


def column_test(column: str, op: str, value: Any) -> Q:
    """One `where` test on an event column (schema.EVENT_COLUMNS). Used inside the events
    subquery only, so a NULL amount simply leaves the event out."""
    if op == "exists":
        return Q(**{f"{column}__isnull": False})
    if op == "equals":
        return Q(**{column: value})
    if op == "in":
        return Q(**{f"{column}__in": list(value)})
    if op == "contains":
        return Q(**{f"{column}__icontains": value})
    if op in {"gte", "lte"}:
        return Q(**{f"{column}__{op}": value})
    raise ValueError(f"unknown column test {op}")


# Kinds compiled by one method for several kinds.
_SHARED_COMPILERS = {
    "last_visit": "date_rollup",
    "first_visit": "date_rollup",
    "last_purchase": "date_rollup",
    "visit_count": "number_rollup",
    "purchase_count": "number_rollup",
    "total_spent": "number_rollup",
}

_DATE_ROLLUPS = {
    "last_visit": "last_visit_at",
    "first_visit": "first_visit_at",
    "last_purchase": "last_purchase_at",
}


@dataclass
class Compiler:
    workspace: Workspace
    clock: Clock
    # Saved segments being expanded, outermost first: a reference back into this chain is a
    # cycle.
    stack: tuple[int, ...] = ()
    _segments: dict[int, Segment | None] = field(default_factory=dict)
    # References to rows this workspace does not have, collected so every one is reported at
    # once; compile_definition raises them.
    problems: list[s.Problem] = field(default_factory=list)

    def compile(self, node: Any, path: str = "$.where") -> Q:
        kind = _SHARED_COMPILERS.get(node.kind, node.kind)
        result: Q = getattr(self, f"_{kind}")(node, path)
        return result

    # groups
    def _all(self, node: s.AllOf, path: str) -> Q:
        q = _TRUE
        for i, child in enumerate(node.conditions):
            q &= self.compile(child, f"{path}.conditions[{i}]")
        return q

    def _any(self, node: s.AnyOf, path: str) -> Q:
        q = _FALSE
        for i, child in enumerate(node.conditions):
            q |= self.compile(child, f"{path}.conditions[{i}]")
        return q

    def _not(self, node: s.Not, path: str) -> Q:
        return ~self.compile(node.condition, f"{path}.condition")

    # attributes
    def _gender(self, node: s.GenderIs, path: str) -> Q:
        return Q(gender__in=node.values)

    def _age(self, node: s.AgeBetween, path: str) -> Q:
        today = self.clock.today
        q = Q(birth_date__isnull=False)
        if node.min is not None:
            q &= Q(birth_date__lte=years_before(today, node.min))
        if node.max is not None:
            # Younger than max + 1: born after the day they would turn max + 1.
            q &= Q(birth_date__gt=years_before(today, node.max + 1))
        return q

    def _birth_month(self, node: s.BirthMonth, path: str) -> Q:
        return Q(birth_date__isnull=False, birth_date__month__in=sorted(set(node.months)))

    def _birthday(self, node: s.Birthday, path: str) -> Q:
        today = self.clock.today
        base = Q(birth_date__isnull=False)
        if node.when == "this_month":
            return base & Q(birth_date__month=today.month)
        if node.when == "next_month":
            return base & Q(birth_date__month=today.month % 12 + 1)
        q = Q(birth_date__month=today.month, birth_date__day=today.day)
        leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
        if (today.month, today.day) == (2, 28) and not leap:
            # 29 Feb birthdays are celebrated on 28 Feb in common years.
            q |= Q(birth_date__month=2, birth_date__day=29)
        return base & q

    def _prefecture(self, node: s.PrefectureIn, path: str) -> Q:
        return Q(prefecture__in=node.values)

    def _attribute(self, node: s.AttributeIs, path: str) -> Q:
        return json_test("attributes", node.key, node.op, node.value)

    def _consent(self, node: s.Flag, path: str) -> Q:
        return Q(marketing_consent=node.value)

    def _has_email(self, node: s.Flag, path: str) -> Q:
        has = ~Q(email="")
        return has if node.value else ~has

    def _has_phone(self, node: s.Flag, path: str) -> Q:
        has = ~Q(phone="")
        return has if node.value else ~has

    def _has_customer_number(self, node: s.Flag, path: str) -> Q:
        has = Q(external_id__isnull=False)
        return has if node.value else ~has

    # rollups
    def _date_rollup(self, node: s.DateRollup, path: str) -> Q:
        column = _DATE_ROLLUPS[node.kind]
        if node.op == "never":
            return Q(**{f"{column}__isnull": True})
        if node.date is not None:
            boundary = self.clock.day_start(node.date)
        else:
            assert node.days_ago is not None
            boundary = self.clock.days_ago(node.days_ago)
        lookup = "lt" if node.op == "before" else "gte"
        return Q(**{f"{column}__isnull": False, f"{column}__{lookup}": boundary})

    def _number_rollup(self, node: s.NumberRollup, path: str) -> Q:
        q = _TRUE
        if node.min is not None:
            q &= Q(**{f"{node.kind}__gte": node.min})
        if node.max is not None:
            q &= Q(**{f"{node.kind}__lte": node.max})
        return q

    # tags
    def _tags(self, node: s.Tags, path: str) -> Q:
        base = ContactTag.objects.filter(contact=OuterRef("pk"), tag__workspace=self.workspace)
        if node.added_within_days is not None:
            base = base.filter(added_at__gte=self.clock.days_ago(node.added_within_days))
        names = sorted(set(node.names))
        if node.match == "all":
            q = _TRUE
            for name in names:
                q &= Q(Exists(base.filter(tag__name=name)))
            return q
        has_any = Q(Exists(base.filter(tag__name__in=names)))
        return has_any if node.match == "any" else ~has_any

    # events
    def _window(self, qs: QuerySet[Any], column: str, node: Any) -> QuerySet[Any]:
        if getattr(node, "within_days", None) is not None:
            qs = qs.filter(**{f"{column}__gte": self.clock.days_ago(node.within_days)})
        if getattr(node, "since", None) is not None:
            qs = qs.filter(**{f"{column}__gte": self.clock.day_start(node.since)})
        if getattr(node, "until", None) is not None:
            end = self.clock.day_start(node.until + dt.timedelta(days=1))
            qs = qs.filter(**{f"{column}__lt": end})
        return qs

    def _event(self, node: s.EventMeasure, path: str) -> Q:
        # workspace too, though the contact implies it: it lets PostgreSQL answer the EXISTS
        # with a hashed semi-join over the (workspace, kind, occurred_at) index.
        events = Event.objects.filter(
            workspace=self.workspace, contact=OuterRef("pk"), kind=node.event
        )
        events = self._window(events, "occurred_at", node)
        for test in node.where:
            if test.key in s.EVENT_COLUMNS:
                events = events.filter(column_test(test.key, test.op, test.value))
            else:
                events = events.filter(json_test("properties", test.key, test.op, test.value))
        if node.measure == "count":
            return self._count_condition(events, node.op, node.value)
        total = Coalesce(
            Subquery(events.order_by().values("contact").annotate(v=Sum("amount")).values("v")[:1]),
            Value(0),
        )
        if node.op == "at_least":
            return Q(GreaterThanOrEqual(total, node.value))
        if node.op == "at_most":
            return Q(LessThanOrEqual(total, node.value))
        return Q(Exact(total, node.value))

    def _count_condition(self, events: QuerySet[Event], op: str, n: int) -> Q:
        # EXISTS where it is enough: it stops at the first row and uses the index directly.
        def at_least(k: int) -> Q:
            if k <= 0:
                return _TRUE
            if k == 1:
                return Q(Exists(events))
            count = Coalesce(
                Subquery(
                    events.order_by().values("contact").annotate(c=Count("pk")).values("c")[:1]
                ),
                Value(0),
            )
            return Q(GreaterThanOrEqual(count, k))

        if op == "at_least":
            return at_least(n)
        if op == "at_most":
            return ~at_least(n + 1)
        return at_least(n) & ~at_least(n + 1)

    # LINE
    def _line_status(self, node: s.LineStatus, path: str) -> Q:
        return Q(line_status__in=node.values)

    def _line_linked(self, node: s.LineLinked, path: str) -> Q:
        linked = Q(external_id__isnull=False, line_user_id__isnull=False)
        return linked if node.value else ~linked

    def _friend_for(self, node: s.FriendFor, path: str) -> Q:
        q = Q(line_status=LineStatus.FOLLOWING, line_followed_at__isnull=False)
        if node.at_least_days is not None:
            q &= Q(line_followed_at__lte=self.clock.now - dt.timedelta(days=node.at_least_days))
        if node.at_most_days is not None:
            q &= Q(line_followed_at__gte=self.clock.now - dt.timedelta(days=node.at_most_days))
        return q

    # membership and clicks
    def _in_segment(self, node: s.InSegment, path: str) -> Q:
        segment_id = node.segment_id
        if segment_id in self.stack:
            chain = " → ".join(str(i) for i in (*self.stack, segment_id))
            raise s.DefinitionError(
                [s.Problem(f"{path}.segment_id", f"segment reference cycle: {chain}")]
            )
        segment = self._load_segment(segment_id)
        if segment is None:
            raise s.DefinitionError(
                [s.Problem(f"{path}.segment_id", f"no segment {segment_id} in this workspace")]
            )
        definition = s.parse_definition(segment.definition)
        inner = Compiler(
            self.workspace, self.clock, (*self.stack, segment_id), self._segments, self.problems
        )
        # Inlined, not a subquery on the segment: the referenced tree becomes part of this one
        # statement and is evaluated with the same clock.
        return inner.compile(definition.where, f"segment[{segment_id}].where")

    def _load_segment(self, segment_id: int) -> Segment | None:
        if segment_id not in self._segments:
            self._segments[segment_id] = Segment.objects.filter(
                workspace=self.workspace, pk=segment_id
            ).first()
        return self._segments[segment_id]

    def _in_audience(self, node: s.InAudience, path: str) -> Q:
        # Refused like a missing segment: an ID that names nothing here (deleted, or another
        # workspace's) would otherwise match nobody without a word.
        if not Audience.objects.filter(workspace=self.workspace, pk=node.audience_id).exists():
            message = _("no audience %(id)s in this workspace") % {"id": node.audience_id}
            self.problems.append(s.Problem(f"{path}.audience_id", message))
        return Q(
            Exists(
                AudienceMember.objects.filter(
                    audience_id=node.audience_id,
                    audience__workspace=self.workspace,
                    contact=OuterRef("pk"),
                )
            )
        )

    def _clicked(self, node: s.Clicked, path: str) -> Q:
        self._check_click_target(node, path)
        clicks = Click.objects.filter(contact=OuterRef("pk"), link__workspace=self.workspace)
        if node.link_id is not None:
            clicks = clicks.filter(link_id=node.link_id)
        if node.campaign_id is not None:
            clicks = clicks.filter(link__campaign_id=node.campaign_id)
        clicks = self._window(clicks, "clicked_at", node)
        return Q(Exists(clicks))

    def _check_click_target(self, node: s.Clicked, path: str) -> None:
        """A link or campaign that is not this workspace's is refused with its path, not
        answered 0. Campaigns are looked up through the app registry: campaigns depends on
        segments, not the other way round."""
        links = TrackedLink.objects.filter(workspace=self.workspace)
        if node.link_id is not None and not links.filter(pk=node.link_id).exists():
            message = _("no tracked link %(id)s in this workspace") % {"id": node.link_id}
            self.problems.append(s.Problem(f"{path}.link_id", message))
        campaigns = apps.get_model("campaigns", "Campaign").objects.filter(workspace=self.workspace)
        if node.campaign_id is not None and not campaigns.filter(pk=node.campaign_id).exists():
            message = _("no campaign %(id)s in this workspace") % {"id": node.campaign_id}
            self.problems.append(s.Problem(f"{path}.campaign_id", message))


def compile_definition(
    workspace: Workspace,
    definition: s.SegmentDefinition,
    *,
    now: dt.datetime | None = None,
    segment_id: int | None = None,
) -> Q:
    """The Q for a parsed definition. `segment_id` is the segment being defined, so a
    reference back to it is reported as a cycle. A reference to a segment, audience, tracked
    link or campaign that is not this workspace's raises DefinitionError with its path."""
    clock = Clock.for_workspace(workspace, now)
    stack = (segment_id,) if segment_id is not None else ()
    compiler = Compiler(workspace, clock, stack)
    q = compiler.compile(definition.where)
    if compiler.problems:
        raise s.DefinitionError(compiler.problems)
    return q
