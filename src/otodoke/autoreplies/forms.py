"""The rule form (no JSON: keywords one per line, business hours as times and weekday boxes);
the messages come from the composer's message slots (web.campaigns_forms)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otodoke.autoreplies.models import MatchType, Rule, RuleKind
from otodoke.scenarios.models import Scenario
from otodoke.workspaces.models import Workspace

WEEKDAYS = [
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
]


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Rule name"), max_length=200)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    match_type = forms.ChoiceField(
        label=_("Match"), choices=MatchType.choices, initial=MatchType.EXACT, required=False
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line. Full-width and half-width letters and upper and lower case match alike."
        ),
    )
    postback_key = forms.CharField(
        label=_("Postback data key"),
        required=False,
        max_length=100,
        help_text=_("For data such as action=reserve, the key is action."),
    )
    postback_value = forms.CharField(
        label=_("Postback data value"),
        required=False,
        max_length=300,
        help_text=_("Leave empty to answer any value of the key."),
    )
    invite_unlinked = forms.BooleanField(
        label=_("Add the membership link invitation for friends who are not linked yet"),
        required=False,
        initial=True,
    )
    add_tag = forms.CharField(
        label=_("Tag to add"),
        required=False,
        max_length=100,
        help_text=_("Optional: the friend gets this tag when the rule answers."),
    )
    scenario = forms.ModelChoiceField(
        label=_("Scenario to start"),
        queryset=Scenario.objects.none(),
        required=False,
        help_text=_("Optional: an active scenario the friend enters when the rule answers."),
    )
    open_days = forms.TypedMultipleChoiceField(
        label=_("Open days"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    opens_at = forms.TimeField(
        label=_("Opens at"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    closes_at = forms.TimeField(
        label=_("Closes at"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text=_(
            "In the workspace time zone. A closing time before the opening time runs past midnight."
        ),
    )

    def __init__(self, *args: Any, workspace: Workspace, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        scenario = self.fields["scenario"]
        assert isinstance(scenario, forms.ModelChoiceField)
        scenario.queryset = Scenario.objects.filter(workspace=workspace).exclude(status="archived")

    def data_for_service(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        d = self.cleaned_data
        scenario = d.get("scenario")
        return {
            "kind": self.kind,
            "name": d["name"],
            "enabled": d.get("enabled", False),
            "match_type": d.get("match_type") or MatchType.EXACT,
            "keywords": [w for w in re.split(r"[\r\n]+", d.get("keywords") or "") if w.strip()],
            "postback_key": d.get("postback_key", ""),
            "postback_value": d.get("postback_value", ""),
            "messages": messages,
            "invite_unlinked": d.get("invite_unlinked", False),
            "add_tag": d.get("add_tag", ""),
            "scenario_id": scenario.pk if scenario else None,
            "open_days": list(d.get("open_days") or []),
            "opens_at": d.get("opens_at"),
            "closes_at": d.get("closes_at"),
        }


def initial_for(rule: Rule | None, kind: str) -> dict[str, Any]:
    if rule is None:
        defaults: dict[str, Any] = {"enabled": True, "invite_unlinked": True}
        if kind == RuleKind.AWAY:
            defaults.update(open_days=[0, 1, 2, 3, 4, 5], opens_at="10:00", closes_at="19:00")
        return defaults
    return {
        "name": rule.name,
        "enabled": rule.enabled,
        "match_type": rule.match_type,
        "keywords": "\n".join(rule.keywords),
        "postback_key": rule.postback_key,
        "postback_value": rule.postback_value,
        "invite_unlinked": rule.invite_unlinked,
        "add_tag": rule.add_tag,
        "scenario": rule.scenario_id,
        "open_days": rule.open_days,
        "opens_at": rule.opens_at,
        "closes_at": rule.closes_at,
    }


class TryForm(forms.Form):
    text = forms.CharField(label=_("Message"), max_length=500, required=False)
