"""Forms of the contact page's editing: fields and custom attributes, a tag, the consent.

Every typed value goes through the importer's cleaners (`contacts.cleaning`), so the page and
a CSV import accept and store the same things (one phone normaliser: +81 E.164)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otodoke.contacts import cleaning
from otodoke.contacts.editing import PII_FIELDS
from otodoke.contacts.japan import PREFECTURES
from otodoke.contacts.models import Contact, Gender

NEW_ATTRIBUTE_ROWS = 3
MAX_ATTRIBUTES = 50


def _cleaned(cleaner: Callable[[str], Any], value: str) -> Any:
    try:
        return cleaner(value)
    except cleaning.CleanError as exc:
        raise forms.ValidationError(str(exc)) from exc


class ContactEditForm(forms.Form):
    external_id = forms.CharField(label=_("Customer number"), required=False, max_length=100)
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    name_kana = forms.CharField(label=_("Name (kana)"), required=False, max_length=200)
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices)
    birth_date = forms.CharField(
        label=_("Birth date"),
        required=False,
        help_text=_("e.g. 1990/4/1, 1990-04-01 or 平成2年4月1日"),
    )
    prefecture = forms.CharField(label=_("Prefecture"), required=False)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    email = forms.CharField(label=_("E-mail"), required=False, max_length=254)

    def __init__(self, *args: Any, contact: Contact, include_pii: bool, **kwargs: Any) -> None:
        if "initial" not in kwargs:
            kwargs["initial"] = initial_values(contact)
        super().__init__(*args, **kwargs)
        self.contact = contact
        self.include_pii = include_pii
        self.prefectures = PREFECTURES
        self.fields["prefecture"].widget.attrs["list"] = "prefectures"
        self.fields["birth_date"].widget.attrs["placeholder"] = "1990-04-01"
        if not include_pii:
            for name in PII_FIELDS:
                del self.fields[name]
        self.attribute_rows = self._add_attribute_fields(dict(contact.attributes or {}))

    def _add_attribute_fields(self, current: dict[str, Any]) -> list[tuple[Any, ...]]:
        rows = []
        items = list(current.items())[:MAX_ATTRIBUTES]
        for index in range(len(items) + NEW_ATTRIBUTE_ROWS):
            key, value = items[index] if index < len(items) else ("", "")
            number = index + 1
            self.fields[f"attr_key_{index}"] = forms.CharField(
                label=_("Attribute name"),
                required=False,
                max_length=100,
                initial=key,
                widget=forms.TextInput(attrs={"aria-label": f"{_('Attribute name')} {number}"}),
            )
            self.fields[f"attr_value_{index}"] = forms.CharField(
                label=_("Value"),
                required=False,
                max_length=1000,
                initial=str(value),
                widget=forms.TextInput(attrs={"aria-label": f"{_('Value')} {number}"}),
            )
            self.fields[f"attr_remove_{index}"] = forms.BooleanField(
                label=_("Remove"), required=False
            )
            rows.append((index, index < len(items)))
        return rows

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ContactEditForm.base_fields if name in self.fields]

    def attribute_fields(self) -> list[tuple[forms.BoundField, ...]]:
        """(name, value, remove) per row; new rows have no remove box."""
        return [
            (self[f"attr_key_{i}"], self[f"attr_value_{i}"], self[f"attr_remove_{i}"])
            if existing
            else (self[f"attr_key_{i}"], self[f"attr_value_{i}"])
            for i, existing in self.attribute_rows
        ]

    def clean_external_id(self) -> str:
        return cleaning.nfkc(self.cleaned_data["external_id"])

    def clean_birth_date(self) -> Any:
        value = self.cleaned_data["birth_date"].strip()
        return _cleaned(cleaning.clean_birth_date, value) if value else None

    def clean_prefecture(self) -> str:
        value = self.cleaned_data["prefecture"].strip()
        return _cleaned(cleaning.clean_prefecture, value) if value else ""

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"].strip()
        return _cleaned(cleaning.clean_phone, value) if value else ""

    def clean_email(self) -> str:
        value = self.cleaned_data["email"].strip()
        return _cleaned(cleaning.clean_email, value) if value else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        current = dict(self.contact.attributes or {})
        attributes: dict[str, Any] = {}
        for index, _existing in self.attribute_rows:
            key = cleaning.nfkc(data.get(f"attr_key_{index}") or "")
            value = (data.get(f"attr_value_{index}") or "").strip()
            if data.get(f"attr_remove_{index}") or (not key and not value):
                continue
            if not key:
                self.add_error(f"attr_key_{index}", _("Give this value a name."))
            elif key in attributes:
                self.add_error(
                    f"attr_key_{index}",
                    _("“%(name)s” is already an attribute of this contact.") % {"name": key},
                )
            else:
                # An imported number stays a number unless staff changed it.
                kept = current.get(key)
                attributes[key] = kept if kept is not None and str(kept) == value else value
        data["attributes"] = attributes
        return data

    def values(self) -> dict[str, Any]:
        names = [n for n in ContactEditForm.base_fields if n in self.fields]
        return {name: self.cleaned_data[name] for name in names}


def initial_values(contact: Contact) -> dict[str, Any]:
    return {
        "external_id": contact.external_id or "",
        "name": contact.name,
        "name_kana": contact.name_kana,
        "gender": contact.gender,
        "birth_date": contact.birth_date.isoformat() if contact.birth_date else "",
        "prefecture": contact.prefecture,
        "phone": cleaning.domestic_phone(contact.phone),
        "email": contact.email,
    }


class TagForm(forms.Form):
    name = forms.CharField(label=_("Tag"), max_length=100, required=False)

    def clean_name(self) -> str:
        name = cleaning.nfkc(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError(_("Type a tag name."))
        return name


class ConsentForm(forms.Form):
    consent = forms.TypedChoiceField(
        label=_("Marketing consent"),
        choices=[("yes", _("Yes")), ("no", _("Opted out"))],
        coerce=lambda value: value == "yes",
    )
