"""Forms of 設定 → メンバー and of the invitation page. Field rules (username, password
strength, uniqueness) are checked by `otodoke.workspaces.members`, so the CLI applies the same."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from otodoke.workspaces.members import INVITATION_DAYS, MAX_INVITATION_DAYS
from otodoke.workspaces.roles import Role


class _NewLoginFields(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("Letters, digits and @ . + - _ only; used to log in."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=_("At least 8 characters, not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        return data

    def add_service_errors(self, exc: ValidationError) -> None:
        """Attach the service's ValidationError to this form's fields."""
        add_service_errors(self, exc)


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    problems = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    for name, messages in problems.items():
        target = "password1" if name == "password" else name
        form.add_error(target if target in form.fields else None, messages)


class CreateMemberForm(_NewLoginFields):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.OPERATOR)

    field_order = ["username", "email", "password1", "password2", "role"]


class InviteForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.OPERATOR)
    email = forms.EmailField(
        label=_("E-mail (optional)"),
        required=False,
        help_text=_("For your own reminder in the list; Otodoke sends no e-mail."),
    )
    days = forms.IntegerField(
        label=_("Valid for (days)"),
        min_value=1,
        max_value=MAX_INVITATION_DAYS,
        initial=INVITATION_DAYS,
    )


class AcceptInvitationForm(_NewLoginFields):
    pass
