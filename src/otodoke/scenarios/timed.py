"""Time-based scenario triggers: who is due *now*, found set-based in SQL.

Nobody writes anything when a birthday comes round or a last visit turns 60 days old, so these
triggers cannot react to a change: the scheduler's `tick` asks every active scenario version
with such a trigger who is due at this instant and enrols them.

Every date is a local date in the workspace time zone (default Asia/Tokyo): at 23:30 UTC on
31 December it is already 1 January in Tokyo, so the January birthday month has begun there.

Each trigger is due on one local day, from its time of day (`at`, default 00:00) until the end
of that day, and names that day in a **period key** (``birthday_month:2027-01``,
``inactivity:visit:60:2027-03-02``…). `tick` runs every minute; the key is what makes it fire
once: the enrolment records the key it came from and does not enrol the same contact twice
for one key (on top of the scenario's own entry rule: once ever / again after N days / every
time). A birthday-month trigger therefore fires once a year per contact; an inactivity trigger
once per lapse (a new visit starts a new one).

Triggers (the `trigger` JSON of a scenario version, ``{"kind": …, "params": {…}}``):

* ``date_attribute`` with ``{"on": "birthday_month", "at": "10:00"}``: on the 1st (or
  ``"day": N``) of the contact's birth month;
* ``date_attribute`` with ``{"on": "birthday", "at": "10:00"}``: on the birthday (29 Feb on
  28 Feb in common years);
* ``date_attribute`` with ``{"on": "attribute", "key": "contract_renewal", "offset_days": -30}``:
  N days before (negative) or after (positive) the date in a custom attribute, written
  ``2027-04-01``, ``2027/04/01``, ``2027/4/1``, ``2027年4月1日`` or as an ISO date-time.
  ``{"attribute": "birth_date", "match": "month" | "day", …}`` and ``{"attribute": "<key>",
  "offset_days": N}`` are accepted for the same three;
* ``inactivity`` with ``{"event": "visit", "days": 60, "at": "10:00"}``: the contact's last
  event of that kind was N days ago (visits and purchases use the rollups, which include an
  imported POS baseline; other kinds read the events), so nobody who never had one;
* ``segment_entered`` with ``{"definition": {...}}`` or ``{"segment_id": 3}``: the contact
  started matching (a `segments.watches` diff; the watch's first evaluation after activation is
  a baseline, so people who already matched do not enter). The tick re-evaluates it in full
  every minute; `on_contacts_changed` re-evaluates only the contacts whose data just changed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from otodoke.contacts.models import Contact, Event, EventKind, is_event_kind
from otodoke.scenarios.models import Enrolment, ScenarioStatus, ScenarioVersion
from otodoke.scenarios.triggers import active_versions, enrol
from otodoke.segments import schema as seg
from otodoke.segments.compiler import Clock, compile_definition
from otodoke.segments.models import SegmentWatch
from otodoke.segments.watches import (
    drop_watch,
    ensure_watch,
    refresh,
    refresh_contacts,
    watch_for,
)
from otodoke.workspaces.models import Workspace

log = logging.getLogger(__name__)
TIMED_KINDS = ("date_attribute", "inactivity", "segment_entered")
WATCH_OWNER = "scenario_version"

# Rollups that hold the last time per kind: no scan of the events for these.
_LAST_EVENT_ROLLUP = {
    EventKind.VISIT.value: "last_visit_at",
    EventKind.PURCHASE.value: "last_purchase_at",
}


@dataclass(frozen=True)
class Due:
    """Who is due now for one trigger, and the key of the period they are due for."""

    contact_ids: QuerySet[Contact, int] | list[int]
    period: str


def _ids(qs: QuerySet[Contact]) -> QuerySet[Contact, int]:
    return qs.values_list("pk", flat=True)


def _nobody() -> QuerySet[Contact, int]:
    return _ids(Contact.objects.none())


def parse_time(value: Any) -> dt.time:
    """``"10:00"`` (or a `time`) as a time of day; empty is midnight."""
    if isinstance(value, dt.time):
        return value
    if value in (None, ""):
        return dt.time.min
    return dt.time.fromisoformat(str(value))


def _local(workspace: Workspace, now: dt.datetime) -> tuple[Clock, dt.datetime]:
    clock = Clock.for_workspace(workspace, now)
    return clock, now.astimezone(clock.tz)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birthday_month_due(
    workspace: Workspace, now: dt.datetime, *, at: dt.time = dt.time.min, day: int = 1
) -> Due:
    """Contacts born in the current local month, on its `day` (default the 1st; the last day
    when the month is shorter) from `at` on."""
    _clock, local = _local(workspace, now)
    period = f"bday-month:{local:%Y-%m}"
    last = calendar.monthrange(local.year, local.month)[1]
    if local.day != min(day, last) or local.time() < at:
        return Due(_nobody(), period)
    contacts = Contact.objects.filter(
        workspace=workspace, birth_date__isnull=False, birth_date__month=local.month
    )
    return Due(_ids(contacts), period)


def birthday_due(workspace: Workspace, now: dt.datetime, *, at: dt.time = dt.time.min) -> Due:
    """Contacts whose birthday is the local today, from `at` on. 29 Feb birthdays are kept
    on 28 Feb in common years (as the segment condition `birthday today` does)."""
    clock, local = _local(workspace, now)
    today = clock.today
    period = f"birthday:{today.isoformat()}"
    if local.time() < at:
        return Due(_nobody(), period)
    q = Q(birth_date__month=today.month, birth_date__day=today.day)
    if (today.month, today.day) == (2, 28) and not _is_leap(today.year):
        q |= Q(birth_date__month=2, birth_date__day=29)
    contacts = Contact.objects.filter(workspace=workspace, birth_date__isnull=False).filter(q)
    return Due(_ids(contacts), period)


def date_spellings(day: dt.date) -> list[str]:
    """How a date is written in a custom attribute (imports keep the text as it was)."""
    return sorted(
        {
            day.isoformat(),
            f"{day.year}/{day.month:02d}/{day.day:02d}",
            f"{day.year}/{day.month}/{day.day}",
            f"{day.year}-{day.month}-{day.day}",
            f"{day.year}年{day.month}月{day.day}日",
        }
    )


def date_attribute_due(
    workspace: Workspace,
    now: dt.datetime,
    *,
    key: str,
    offset_days: int,
    at: dt.time = dt.time.min,
) -> Due:
    """Contacts whose attribute `key` holds the date `offset_days` before today (so they are
    due `-offset_days` days before that date when negative, after it when positive)."""
    clock, local = _local(workspace, now)
    target = clock.today - dt.timedelta(days=offset_days)
    period = f"date:{target.isoformat()}"
    if local.time() < at:
        return Due(_nobody(), period)
    text = KeyTextTransform(key, "attributes")
    iso = target.isoformat()
    contacts = (
        Contact.objects.filter(workspace=workspace)
        .alias(_date_text=text)
        .filter(
            # The keyword route encodes the strings as JSON on both databases.
            Q(**{f"attributes__{key}__in": date_spellings(target)})
            | Q(_date_text__startswith=f"{iso}T")
            | Q(_date_text__startswith=f"{iso} ")
        )
    )
    return Due(_ids(contacts), period)


def inactivity_due(
    workspace: Workspace,
    now: dt.datetime,
    *,
    event: str,
    days: int,
    at: dt.time = dt.time.min,
) -> Due:
    """Contacts whose last `event` fell on the local day `days` days ago: nothing of that kind
    since, for exactly `days` days as of today."""
    clock, local = _local(workspace, now)
    today = clock.today
    period = f"inactive:{today.isoformat()}"
    if local.time() < at:
        return Due(_nobody(), period)
    start = clock.day_start(today - dt.timedelta(days=days))
    end = clock.day_start(today - dt.timedelta(days=days - 1))
    contacts = Contact.objects.filter(workspace=workspace)
    column = _LAST_EVENT_ROLLUP.get(event)
    if column is not None:
        contacts = contacts.filter(**{f"{column}__gte": start, f"{column}__lt": end})
    else:
        events = Event.objects.filter(workspace=workspace, contact=OuterRef("pk"), kind=event)
        contacts = contacts.filter(
            Exists(events.filter(occurred_at__gte=start, occurred_at__lt=end)),
            ~Exists(events.filter(occurred_at__gte=end)),
        )
    return Due(_ids(contacts), period)


# --- trigger params ----------------------------------------------------------------------------

Clock24 = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateAttributeParams(_Params):
    on: Literal["birthday_month", "birthday", "attribute"]
    key: seg.JsonKey | None = None
    offset_days: Annotated[int, Field(ge=-3650, le=3650)] = 0
    # birthday_month: the day of the month it fires on (1 = the 1st; past the month's end,
    # its last day).
    day: Annotated[int, Field(ge=1, le=31)] = 1
    at: Clock24 = "00:00"

    @model_validator(mode="before")
    @classmethod
    def _attribute_form(cls, data: Any) -> Any:
        """Also ``{"attribute": "birth_date", "match": "month" | "day"}`` and
        ``{"attribute": "<custom key>", "offset_days": N}`` (the templates' spelling)."""
        if not isinstance(data, dict) or "on" in data or "attribute" not in data:
            return data
        data = dict(data)
        attribute, match = data.pop("attribute"), data.pop("match", "day")
        if attribute == "birth_date":
            data["on"] = "birthday_month" if match == "month" else "birthday"
        else:
            data["on"], data["key"] = "attribute", attribute
        return data

    @model_validator(mode="after")
    def _key(self) -> Self:
        if self.on == "attribute" and self.key is None:
            raise ValueError(_("give the custom attribute that holds the date (key)"))
        return self


class InactivityParams(_Params):
    event: Annotated[str, Field(min_length=1, max_length=60)]
    days: Annotated[int, Field(ge=1, le=3650)]
    at: Clock24 = "00:00"

    @model_validator(mode="after")
    def _kind(self) -> Self:
        if not is_event_kind(self.event):
            raise ValueError(
                _("%(value)s is not an event kind (visit, purchase, cart, signup or custom:<name>)")
                % {"value": self.event}
            )
        return self


class SegmentEnteredParams(_Params):
    definition: dict[str, Any] | None = None
    segment_id: int | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.definition is None) == (self.segment_id is None):
            raise ValueError(_("give either a segment definition or a saved segment (segment_id)"))
        return self

    def watched(self) -> dict[str, Any]:
        if self.segment_id is not None:
            return {"version": 1, "where": {"kind": "in_segment", "segment_id": self.segment_id}}
        assert self.definition is not None
        return self.definition


PARAMS: dict[str, type[_Params]] = {
    "date_attribute": DateAttributeParams,
    "inactivity": InactivityParams,
    "segment_entered": SegmentEnteredParams,
}


def parse_params(kind: str, params: Any) -> _Params:
    """The trigger's params; raises `segments.schema.DefinitionError` naming the field."""
    try:
        parsed = PARAMS[kind].model_validate(params)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(seg.Problem(f"$.trigger.params{where}", message))
        raise seg.DefinitionError(problems) from None
    if isinstance(parsed, SegmentEnteredParams):
        seg.parse_definition(parsed.watched())  # raises DefinitionError with its paths
    return parsed


def params_problems(workspace: Workspace, kind: str, params: Any) -> list[seg.Problem]:
    """What stops a time-based trigger from running (for the activation check); [] if fine."""
    try:
        parsed = parse_params(kind, params)
        if isinstance(parsed, SegmentEnteredParams):
            compile_definition(workspace, seg.parse_definition(parsed.watched()))
    except seg.DefinitionError as exc:
        return list(exc.problems)
    return []


def watch_interval() -> dt.timedelta:
    """How often a full "entered a segment" evaluation runs at most (the scheduler ticks more
    often than that; changes announced by signals are evaluated at once, per contact)."""
    return dt.timedelta(seconds=float(getattr(settings, "OTODOKE_WATCH_REFRESH_SECONDS", 60)))


# --- the scheduler ------------------------------------------------------------------------------


def due_now(
    workspace: Workspace, kind: str, params: _Params, now: dt.datetime, *, version_id: int
) -> Due:
    """Who is due now for one parsed trigger. For `segment_entered` this advances the
    version's watch: call it inside the transaction that enrols them."""
    if isinstance(params, SegmentEnteredParams):
        watch = ensure_watch(workspace, WATCH_OWNER, version_id, params.watched())
        last = watch.last_evaluated_at
        if last is not None and now - last < watch_interval():
            # Evaluated in full moments ago; changes since came by `on_contacts_changed`.
            return Due([], f"entered:{now.isoformat()}")
        return Due(refresh(watch, now).entered, f"entered:{now.isoformat()}")
    if isinstance(params, InactivityParams):
        return inactivity_due(
            workspace, now, event=params.event, days=params.days, at=parse_time(params.at)
        )
    assert isinstance(params, DateAttributeParams)
    at = parse_time(params.at)
    if params.on == "birthday_month":
        return birthday_month_due(workspace, now, at=at, day=params.day)
    if params.on == "birthday":
        return birthday_due(workspace, now, at=at)
    assert params.key is not None
    return date_attribute_due(workspace, now, key=params.key, offset_days=params.offset_days, at=at)


@dataclass(frozen=True)
class TickResult:
    version_id: int
    kind: str
    period: str
    entered: int
    problem: str = ""


def _not_yet_in_period(version: ScenarioVersion, due: Due) -> QuerySet[Contact, int] | list[int]:
    """Leave out whoever already entered this scenario for this period."""
    taken = Enrolment.objects.filter(
        scenario_id=version.scenario_id, source=due.period, contact=OuterRef("pk")
    )
    if isinstance(due.contact_ids, list):
        ids = due.contact_ids
        if not ids:
            return []
        already = set(
            Enrolment.objects.filter(
                scenario_id=version.scenario_id, source=due.period, contact_id__in=ids
            ).values_list("contact_id", flat=True)
        )
        return [i for i in ids if i not in already]
    return due.contact_ids.filter(~Exists(taken))


def tick_version(workspace: Workspace, version: ScenarioVersion, now: dt.datetime) -> TickResult:
    """Enrol whoever is due now for this version's time-based trigger, once per period."""
    kind = str(version.trigger.get("kind"))
    try:
        params = parse_params(kind, version.trigger.get("params", {}))
        with transaction.atomic():
            # One transaction: a watch's diff is only consumed when its contacts are enrolled.
            due = due_now(workspace, kind, params, now, version_id=version.pk)
            ids = _not_yet_in_period(version, due)
            entered = enrol(workspace, version, ids, now=now, source=due.period)
    except seg.DefinitionError as exc:
        log.warning("Scenario version %s: trigger not evaluated: %s", version.pk, exc)
        return TickResult(version.pk, kind, "", 0, problem=str(exc))
    return TickResult(version.pk, kind, due.period, entered)


def tick(workspace: Workspace, now: dt.datetime) -> list[TickResult]:
    """One scheduler pass for the workspace's time-based triggers. Run it every minute; each
    trigger enrols a contact once per period however often it runs. Watches of versions that
    are no longer active are dropped, so re-activating a scenario takes a fresh baseline."""
    results = []
    live: list[int] = []
    for kind in TIMED_KINDS:
        for version in active_versions(workspace, kind):
            if kind == "segment_entered":
                live.append(version.pk)
            results.append(tick_version(workspace, version, now))
    stale = SegmentWatch.objects.filter(workspace=workspace, owner_kind=WATCH_OWNER).exclude(
        owner_id__in=live
    )
    for watch in stale:
        drop_watch(WATCH_OWNER, watch.owner_id)
    return results


def tick_all(now: dt.datetime, *, workspace_id: int | None = None) -> list[TickResult]:
    """`tick` for every workspace with an active time-based scenario (or the one given), and
    for workspaces whose watches must be dropped. What the scenario scheduler runs first."""
    versions = ScenarioVersion.objects.filter(
        scenario__status=ScenarioStatus.ACTIVE,
        scenario__current_version=F("pk"),
        trigger__kind__in=list(TIMED_KINDS),
    )
    watched = SegmentWatch.objects.filter(owner_kind=WATCH_OWNER)
    if workspace_id is not None:
        versions = versions.filter(scenario__workspace_id=workspace_id)
        watched = watched.filter(workspace_id=workspace_id)
    ids = set(versions.values_list("scenario__workspace_id", flat=True))
    ids |= set(watched.values_list("workspace_id", flat=True))
    results: list[TickResult] = []
    for workspace in Workspace.objects.filter(pk__in=ids).order_by("pk"):
        results += tick(workspace, now)
    return results


def on_contacts_changed(workspace: Workspace, contact_ids: Iterable[int], now: dt.datetime) -> int:
    """The quick path of "entered a segment": re-evaluate only these contacts (their events,
    tags or attributes just changed) against every active `segment_entered` trigger and enrol
    those who entered. Returns how many enrolments were made."""
    ids = sorted({int(i) for i in contact_ids})
    if not ids:
        return 0
    total = 0
    for version in active_versions(workspace, "segment_entered"):
        try:
            params = parse_params("segment_entered", version.trigger.get("params", {}))
            assert isinstance(params, SegmentEnteredParams)
            watch = watch_for(WATCH_OWNER, version.pk)
            if watch is None or watch.last_evaluated_at is None:
                # The first (baseline) evaluation is the tick's, not a webhook's to pay for.
                continue
            with transaction.atomic():
                watch = ensure_watch(workspace, WATCH_OWNER, version.pk, params.watched())
                entered = refresh_contacts(watch, ids, now).entered
                total += enrol(
                    workspace, version, entered, now=now, source=f"entered:{now.isoformat()}"
                )
        except seg.DefinitionError as exc:
            log.warning("Scenario version %s: trigger not evaluated: %s", version.pk, exc)
    return total


# --- signals: the quick path --------------------------------------------------------------------


def _tags_added(workspace: Workspace, pairs: list[tuple[int, str]], at: Any, **_: Any) -> None:
    on_contacts_changed(workspace, [contact_id for contact_id, _name in pairs], at)


def _events_recorded(workspace: Workspace, events: list[Any], **_: Any) -> None:
    from django.utils import timezone

    on_contacts_changed(workspace, [e[0] for e in events], timezone.now())


def _contacts_changed(
    workspace: Workspace, contact_ids: list[int], at: dt.datetime, **_: Any
) -> None:
    on_contacts_changed(workspace, contact_ids, at)


def connect() -> None:
    """Listen to the contacts app's signals (AppConfig.ready): a tag or an event re-evaluates
    that contact's "entered a segment" triggers at once."""
    from otodoke.contacts import signals

    signals.tags_added.connect(_tags_added, dispatch_uid="otodoke.scenarios.timed.tags")
    signals.events_recorded.connect(_events_recorded, dispatch_uid="otodoke.scenarios.timed.events")
    signals.contacts_changed.connect(
        _contacts_changed, dispatch_uid="otodoke.scenarios.timed.contacts"
    )
