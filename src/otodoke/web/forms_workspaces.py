"""The form that creates a workspace from the UI (the CLI's `otodoke workspace create`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otodoke.web.forms import CHANNEL_ID, time_zone_choices
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.plans import Plan
from otodoke.workspaces.services import CREDENTIAL_FIELDS


class WorkspaceCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    slug = forms.SlugField(
        label=_("Slug (in the address)"),
        max_length=50,
        required=False,
        help_text=_(
            "Lowercase letters, digits and hyphens, used in the page addresses. Suggested from "
            "the name; left empty, one is made for you."
        ),
        widget=forms.TextInput(attrs={"data-slug-from": "id_name", "autocomplete": "off"}),
        error_messages={
            "invalid": _(
                "A slug uses only half-width letters, digits, hyphens and underscores "
                "(for example salon-ginza)."
            )
        },
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=time_zone_choices, initial="Asia/Tokyo"
    )
    plan = forms.ChoiceField(label=_("Plan"), choices=Plan.choices, initial=Plan.COMMUNICATION)
    channel_id = forms.CharField(
        label=_("Channel ID"),
        required=False,
        strip=True,
        max_length=20,
        validators=[CHANNEL_ID],
    )
    channel_secret = forms.CharField(
        label=_("Channel secret"),
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    channel_access_token = forms.CharField(
        label=_("Channel access token"),
        required=False,
        strip=True,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"].lower()
        if slug and Workspace.objects.filter(slug=slug).exists():
            raise forms.ValidationError(
                _("The slug “%(slug)s” is already used by another workspace. Choose another."),
                params={"slug": slug},
            )
        return slug

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        given = [f for f in CREDENTIAL_FIELDS if data.get(f)]
        if given and len(given) < len(CREDENTIAL_FIELDS):
            raise forms.ValidationError(
                _(
                    "Enter the channel ID, channel secret and channel access token together, "
                    "or leave all three empty and connect the channel later."
                )
            )
        return data
