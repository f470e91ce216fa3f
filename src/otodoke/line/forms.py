from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class VerificationForm(forms.Form):
    """Membership number plus one more thing only the customer knows."""

    link_token = forms.CharField(widget=forms.HiddenInput, max_length=255)
    external_id = forms.CharField(label=_("Membership number"), max_length=100)
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not cleaned.get("phone") and not cleaned.get("birth_date"):
            raise forms.ValidationError(_("Enter your phone number or your date of birth."))
        return cleaned
