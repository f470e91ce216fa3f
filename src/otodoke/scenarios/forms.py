"""Input forms of the scenario pages. They turn browser input into the definition pieces
`scenarios.schema` describes (a trigger, a step, the entry rule and goal); the definition is
checked by `services.create_scenario` / `update_scenario`, whose problems the pages show."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otodoke.scenarios.presenters import STEP_TYPES, date_on
from otodoke.segments.models import Segment
from otodoke.workspaces.models import Workspace

TRIGGER_CHOICES = [
    ("friend_added", _("Friend added")),
    ("contact_linked", _("Customer linked to LINE")),
    ("tag_added", _("Tag added")),
    ("event", _("Event received (purchase, visit, cart, sign-up…)")),
    ("link_clicked", _("Tracked link clicked")),
    ("keyword", _("Keyword message received")),
    ("postback", _("Postback received")),
    ("segment_entered", _("Started matching a segment")),
    ("date_attribute", _("A date (birthday month, birthday, custom date)")),
    ("inactivity", _("Inactivity (no event for N days)")),
]
EVENT_CHOICES = [
    ("purchase", _("Purchase")),
    ("visit", _("Visit")),
    ("cart", _("Cart")),
    ("signup", _("Sign-up")),
]
DATE_ON_CHOICES = [
    ("birthday_month", _("The 1st of the birth month")),
    ("birthday", _("The birthday")),
    ("attribute", _("A date in a custom attribute")),
]
ENTRY_CHOICES = [
    ("once", _("Once ever")),
    ("after_days", _("Again after N days")),
    ("every", _("Every time")),
]
WAIT_MODES = [
    ("duration", _("For a duration")),
    ("time_of_day", _("Until a time of day")),
    ("weekday", _("Until a weekday")),
]
WEEKDAY_CHOICES = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]
CLOCK = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _segments(workspace: Workspace) -> Any:
    return Segment.objects.filter(workspace=workspace).order_by("name")


def in_segment(segment: Segment | None) -> dict[str, Any] | None:
    """The segment-definition condition "in this saved segment"."""
    if segment is None:
        return None
    return {"version": 1, "where": {"kind": "in_segment", "segment_id": segment.pk}}


def segment_of(definition: dict[str, Any] | None) -> int | None:
    where = (definition or {}).get("where") or {}
    value = where.get("segment_id") if where.get("kind") == "in_segment" else None
    return int(value) if isinstance(value, int) else None


class NewScenarioForm(forms.Form):
    name = forms.CharField(label=_("Scenario name"), max_length=200)


class FilterForm(forms.Form):
    """One property test of an event, e.g. category equals trial."""

    key = forms.CharField(label=_("Property"), required=False, max_length=100)
    value = forms.CharField(label=_("equals"), required=False, max_length=300)


class TriggerForm(forms.Form):
    """The trigger's kind and the fields of that kind; the other kinds' fields are ignored."""

    kind = forms.ChoiceField(label=_("Starts when"), choices=TRIGGER_CHOICES)
    include_refollow = forms.BooleanField(
        label=_("Also when a friend who had blocked the account unblocks it"), required=False
    )
    tag = forms.CharField(label=_("Tag"), required=False, max_length=100)
    event = forms.ChoiceField(label=_("Event"), choices=EVENT_CHOICES, required=False)
    event_key = forms.CharField(label=_("Only when the property"), required=False, max_length=100)
    event_value = forms.CharField(label=_("equals"), required=False, max_length=300)
    keywords = forms.CharField(
        label=_("Keywords (one a line)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    keyword_match = forms.ChoiceField(
        label=_("Match"),
        choices=[("exact", _("The whole message")), ("contains", _("Contained in the message"))],
        required=False,
    )
    postback_key = forms.CharField(label=_("Postback key"), required=False, max_length=100)
    postback_value = forms.CharField(label=_("Postback value"), required=False, max_length=300)
    date_on = forms.ChoiceField(label=_("On"), choices=DATE_ON_CHOICES, required=False)
    date_key = forms.CharField(label=_("Custom attribute"), required=False, max_length=100)
    offset_days = forms.IntegerField(
        label=_("Days after the date (negative: before)"),
        required=False,
        min_value=-3650,
        max_value=3650,
    )
    at = forms.TimeField(label=_("At (workspace time)"), required=False, widget=CLOCK)
    inactive_event = forms.ChoiceField(
        label=_("No event of"), choices=EVENT_CHOICES, required=False
    )
    inactive_days = forms.IntegerField(
        label=_("For days"), required=False, min_value=1, max_value=3650
    )
    watched_segment = forms.ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.none(), required=False
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["watched_segment"].queryset = _segments(workspace)  # type: ignore[attr-defined]

    def _need(self, *names: str) -> None:
        for name in names:
            if self.cleaned_data.get(name) in (None, ""):
                self.add_error(name, _("Required for this trigger."))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        need = {
            "tag_added": ["tag"],
            "event": ["event"],
            "keyword": ["keywords"],
            "postback": ["postback_key"],
            "segment_entered": ["watched_segment"],
            "date_attribute": ["date_on", "at"],
            "inactivity": ["inactive_event", "inactive_days"],
        }.get(str(data.get("kind")), [])
        self._need(*need)
        if data.get("kind") == "date_attribute" and data.get("date_on") == "attribute":
            self._need("date_key")
        return data

    def trigger(self) -> dict[str, Any]:
        d = self.cleaned_data
        kind = d["kind"]
        at = d["at"].strftime("%H:%M") if d.get("at") else "00:00"
        params: dict[str, Any] = {}
        if kind == "friend_added":
            params = {"include_refollow": bool(d["include_refollow"])}
        elif kind == "tag_added":
            params = {"tag": d["tag"].strip()}
        elif kind == "event":
            where = []
            if d["event_key"].strip():
                where = [{"key": d["event_key"].strip(), "op": "equals", "value": d["event_value"]}]
            params = {"event": d["event"], "where": where}
        elif kind == "keyword":
            words = [w.strip() for w in d["keywords"].splitlines() if w.strip()]
            params = {"keywords": words, "match": d["keyword_match"] or "exact"}
        elif kind == "postback":
            params = {"key": d["postback_key"].strip(), "value": d["postback_value"]}
        elif kind == "segment_entered":
            params = {"segment_id": d["watched_segment"].pk}
        elif kind == "date_attribute":
            params = {"on": d["date_on"], "at": at}
            if d["date_on"] == "attribute":
                params.update(key=d["date_key"].strip(), offset_days=d["offset_days"] or 0)
        elif kind == "inactivity":
            params = {"event": d["inactive_event"], "days": d["inactive_days"], "at": at}
        return {"kind": kind, "params": params}


def trigger_initial(trigger: dict[str, Any]) -> dict[str, Any]:
    kind = trigger.get("kind", "friend_added")
    p: dict[str, Any] = trigger.get("params") or {}
    where = (p.get("where") or [{}])[0] if p.get("where") else {}
    initial: dict[str, Any] = {
        "kind": kind,
        "include_refollow": p.get("include_refollow", True),
        "tag": p.get("tag", ""),
        "event_key": where.get("key", ""),
        "event_value": where.get("value", ""),
        "keywords": "\n".join(p.get("keywords") or []),
        "keyword_match": p.get("match", "exact"),
        "postback_key": p.get("key", ""),
        "postback_value": p.get("value", ""),
        "date_on": date_on(p) if kind == "date_attribute" else "birthday_month",
        "date_key": p.get("key", "") if kind == "date_attribute" else "",
        "offset_days": p.get("offset_days", 0),
        "at": p.get("at", "10:00"),
        "watched_segment": p.get("segment_id"),
    }
    if kind == "event":
        initial["event"] = p.get("event", "purchase")
    if kind == "inactivity":
        initial.update(inactive_event=p.get("event", "visit"), inactive_days=p.get("days", 60))
    return initial


class RulesForm(forms.Form):
    """Name, entry rule and goal: the scenario's own settings, apart from trigger and steps."""

    name = forms.CharField(label=_("Scenario name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    entry_rule = forms.ChoiceField(
        label=_("A contact can enter"), choices=ENTRY_CHOICES, widget=forms.RadioSelect
    )
    reentry_days = forms.IntegerField(
        label=_("Days before they can enter again"), required=False, min_value=1, max_value=3650
    )
    goal_event = forms.ChoiceField(
        label=_("Goal: converted when they make a"),
        choices=[("", _("(no goal)")), *EVENT_CHOICES],
        required=False,
    )
    goal_key = forms.CharField(label=_("Only when the property"), required=False, max_length=100)
    goal_value = forms.CharField(label=_("equals"), required=False, max_length=300)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("entry_rule") == "after_days" and not data.get("reentry_days"):
            self.add_error("reentry_days", _("Give the number of days."))
        return data

    def rules(self) -> dict[str, Any]:
        d = self.cleaned_data
        goal = None
        if d["goal_event"]:
            where = []
            if d["goal_key"].strip():
                where = [{"key": d["goal_key"].strip(), "op": "equals", "value": d["goal_value"]}]
            goal = {"event": d["goal_event"], "where": where, "definition": None}
        return {
            "entry_rule": d["entry_rule"],
            "reentry_days": d["reentry_days"] if d["entry_rule"] == "after_days" else None,
            "goal": goal,
        }


def rules_initial(name: str, description: str, spec: dict[str, Any]) -> dict[str, Any]:
    goal = spec.get("goal") or {}
    where = (goal.get("where") or [{}])[0] if goal.get("where") else {}
    return {
        "name": name,
        "description": description,
        "entry_rule": spec.get("entry_rule", "once"),
        "reentry_days": spec.get("reentry_days"),
        "goal_event": goal.get("event") or "",
        "goal_key": where.get("key", ""),
        "goal_value": where.get("value", ""),
    }


class StepForm(forms.Form):
    """One step of a kind fixed by the page (`type`); messages come from the composer's
    message forms (see views)."""

    mode = forms.ChoiceField(label=_("Wait"), choices=WAIT_MODES, required=False)
    days = forms.IntegerField(label=_("Days"), required=False, min_value=0, max_value=3650)
    hours = forms.IntegerField(label=_("Hours"), required=False, min_value=0, max_value=1000)
    minutes = forms.IntegerField(label=_("Minutes"), required=False, min_value=0, max_value=100000)
    at = forms.TimeField(label=_("At (workspace time)"), required=False, widget=CLOCK)
    weekday = forms.TypedChoiceField(
        label=_("Weekday"), choices=WEEKDAY_CHOICES, coerce=int, required=False
    )
    tag = forms.CharField(label=_("Tag"), required=False, max_length=100)
    key = forms.CharField(label=_("Attribute"), required=False, max_length=100)
    value = forms.CharField(label=_("Value (empty: remove)"), required=False, max_length=1000)
    segment = forms.ModelChoiceField(
        label=_("If the contact is in the segment"), queryset=Segment.objects.none(), required=False
    )
    linked = forms.BooleanField(label=_("…or: if linked to LINE"), required=False)
    then = forms.TypedChoiceField(
        label=_("Then go to"), coerce=int, required=False, empty_value=None
    )
    otherwise = forms.TypedChoiceField(
        label=_("Else go to"), coerce=int, required=False, empty_value=None
    )
    track_links = forms.BooleanField(label=_("Track link clicks"), required=False)
    notification_disabled = forms.BooleanField(
        label=_("Send without a notification sound"), required=False
    )
    quiet_hours = forms.BooleanField(
        label=_("Wait for the end of the quiet hours"),
        required=False,
        help_text=_("Untick for an immediate answer to the friend's own action (a welcome)."),
    )
    advanced = forms.CharField(
        label=_("Advanced: the step as JSON (leave empty to use the fields above)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
    )

    def __init__(
        self, *args: Any, step_type: str, workspace: Workspace, index: int, count: int, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.step_type = step_type
        self.fields["segment"].queryset = _segments(workspace)  # type: ignore[attr-defined]
        targets: list[tuple[Any, Any]] = [("", _("the next step"))]
        targets += [(i, _("step %(n)s") % {"n": i + 1}) for i in range(index + 2, count)]
        targets.append((count, _("the end")))
        for name in ("then", "otherwise"):
            self.fields[name].choices = targets  # type: ignore[attr-defined]

    @property
    def type_label(self) -> str:
        return str(dict(STEP_TYPES).get(self.step_type, self.step_type))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("advanced", "").strip():
            try:
                value = json.loads(data["advanced"])
            except json.JSONDecodeError as exc:
                self.add_error(
                    "advanced",
                    _("Not valid JSON (line %(line)s, column %(column)s): %(error)s")
                    % {"line": exc.lineno, "column": exc.colno, "error": exc.msg},
                )
            else:
                if not isinstance(value, dict):
                    self.add_error("advanced", _("A step is a JSON object."))
                data["advanced_value"] = value
            return data
        kind = self.step_type
        if kind in ("add_tag", "remove_tag") and not data.get("tag", "").strip():
            self.add_error("tag", _("Give the tag."))
        if kind == "set_attribute" and not data.get("key", "").strip():
            self.add_error("key", _("Give the attribute."))
        if kind == "branch" and not (data.get("segment") or data.get("linked")):
            self.add_error("segment", _("Choose a segment, or the LINE-linked condition."))
        if kind == "wait":
            mode = data.get("mode") or "duration"
            if mode == "duration" and not (
                data.get("days") or data.get("hours") or data.get("minutes")
            ):
                self.add_error("days", _("Give days, hours or minutes."))
            if mode in ("time_of_day", "weekday") and data.get("at") is None:
                self.add_error("at", _("Give the time of day."))
            if mode == "weekday" and data.get("weekday") in (None, ""):
                self.add_error("weekday", _("Choose the weekday."))
        return data

    def step(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        d = self.cleaned_data
        if "advanced_value" in d:
            return {**d["advanced_value"], "type": d["advanced_value"].get("type", self.step_type)}
        kind = self.step_type
        if kind == "wait":
            mode = d.get("mode") or "duration"
            if mode == "duration":
                return {
                    "type": "wait",
                    "mode": mode,
                    "days": d.get("days") or 0,
                    "hours": d.get("hours") or 0,
                    "minutes": d.get("minutes") or 0,
                }
            step: dict[str, Any] = {"type": "wait", "mode": mode, "at": d["at"].strftime("%H:%M")}
            if mode == "weekday":
                step["weekday"] = d["weekday"]
            return step
        if kind == "send":
            return {
                "type": "send",
                "messages": messages,
                "track_links": bool(d.get("track_links")),
                "notification_disabled": bool(d.get("notification_disabled")),
                "quiet_hours": bool(d.get("quiet_hours")),
            }
        if kind in ("add_tag", "remove_tag"):
            return {"type": kind, "tag": d["tag"].strip()}
        if kind == "set_attribute":
            return {"type": kind, "key": d["key"].strip(), "value": d["value"] or None}
        if kind == "branch":
            condition = in_segment(d.get("segment")) or {
                "version": 1,
                "where": {"kind": "line_linked", "value": True},
            }
            return {
                "type": "branch",
                "condition": condition,
                "then": d.get("then"),
                "otherwise": d.get("otherwise"),
            }
        return {"type": "exit"}


def step_initial(step: dict[str, Any]) -> dict[str, Any]:
    initial = {k: v for k, v in step.items() if k not in ("type", "messages", "condition")}
    initial.setdefault("track_links", True)
    initial.setdefault("quiet_hours", True)
    if step.get("type") == "branch":
        condition = step.get("condition") or {}
        initial["segment"] = segment_of(condition)
        initial["linked"] = (condition.get("where") or {}).get("kind") == "line_linked"
    return initial


class QuietHoursForm(forms.Form):
    enabled = forms.BooleanField(
        label=_("Hold scenario messages during quiet hours"), required=False
    )
    start = forms.TimeField(label=_("From"), widget=CLOCK)
    end = forms.TimeField(label=_("Until"), widget=CLOCK)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") is not None and data.get("start") == data.get("end"):
            self.add_error("end", _("The end must differ from the start."))
        return data
