"""Input forms of the shell and settings pages."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from otodoke.web.services import AuditFilter
from otodoke.workspaces.models import AuditAction
from otodoke.workspaces.plans import Plan
from otodoke.workspaces.roles import Role

# LINE channel IDs are numbers (10 digits today); the limit is the model's.
CHANNEL_ID = RegexValidator(
    r"^[0-9]+$", _("A channel ID is digits only, as the LINE console shows it.")
)


def time_zone_choices() -> list[tuple[str, str]]:
    """Asia/Tokyo first (nearly every workspace), then the rest alphabetically."""
    rest = sorted(zoneinfo.available_timezones() - {"Asia/Tokyo"})
    return [(name, name) for name in ["Asia/Tokyo", *rest]]


class CredentialsForm(forms.Form):
    """Replace-only: the current values are never sent to the browser, so an empty field
    means "keep what is stored"."""

    channel_id = forms.CharField(
        label=_("Channel ID"),
        required=False,
        strip=True,
        max_length=20,
        validators=[CHANNEL_ID],
        help_text=_("Leave empty to keep the current one."),
    )
    channel_secret = forms.CharField(
        label=_("New channel secret"),
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    channel_access_token = forms.CharField(
        label=_("New channel access token"),
        required=False,
        strip=True,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(f) for f in ("channel_id", "channel_secret", "channel_access_token")):
            raise forms.ValidationError(
                _("Enter a new channel ID, channel secret or access token.")
            )
        return data


class WorkspaceSettingsForm(forms.Form):
    plan = forms.ChoiceField(label=_("Plan"), choices=Plan.choices)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)
    require_approval = forms.BooleanField(
        label=_("Sends need approval"),
        required=False,
        help_text=_("A manager or owner must approve each campaign before it is sent."),
    )
    link_keyword = forms.CharField(
        label=_("Account-link keyword"),
        max_length=50,
        required=False,
        help_text=_(
            "A LINE friend who sends exactly this message (for example 会員連携) is sent the "
            "invitation to link their membership. Leave empty to turn it off."
        ),
    )


class AddMemberForm(forms.Form):
    identifier = forms.CharField(label=_("Username or e-mail"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.OPERATOR)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("All actions")), *AuditAction.choices]
    )
    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def to_filter(self) -> AuditFilter:
        if not self.is_valid():
            return AuditFilter()
        data = self.cleaned_data
        return AuditFilter(
            action=data.get("action") or "",
            actor=data.get("actor") or "",
            since=data.get("since"),
            until=data.get("until"),
        )
