"""Forms of the contact pages: list filters, CSV upload, column mapping."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.models import ImportKind, LineStatus
from otodoke.segments.models import Segment
from otodoke.web.contacts import ContactFilter
from otodoke.web.imports import IGNORE, MappingProposal

MAX_UPLOAD_BYTES = 200 * 1024 * 1024

# What each importer field means, in the words of a shop's own files.
FIELD_LABELS: dict[str, Promise] = {
    "external_id": _("Customer number"),
    "name": _("Name"),
    "family_name": _("Family name"),
    "given_name": _("Given name"),
    "name_kana": _("Name (kana)"),
    "family_name_kana": _("Family name (kana)"),
    "given_name_kana": _("Given name (kana)"),
    "gender": _("Gender"),
    "birth_date": _("Birth date"),
    "prefecture": _("Prefecture"),
    "address": _("Address (prefecture is taken from it)"),
    "phone": _("Phone"),
    "email": _("E-mail"),
    "marketing_consent": _("Marketing consent"),
    "first_visit_at": _("First visit"),
    "last_visit_at": _("Last visit"),
    "visit_count": _("Visits"),
    "purchase_count": _("Purchases"),
    "total_spent": _("Total spent (yen)"),
    "last_purchase_at": _("Last purchase"),
    "line_user_id": _("LINE user ID"),
    "tags": _("Tags"),
    "customer_id": _("Customer number"),
    "kind": _("Event kind"),
    "occurred_at": _("Date and time"),
    "amount": _("Amount (yen)"),
    "item": _("Item"),
    "category": _("Category"),
    "attributes": _("Keep as a custom attribute"),
    "properties": _("Keep as an event property"),
}
EVENT_FIELD_LABELS: dict[str, Promise] = {"external_id": _("Event ID (receipt number)")}


class ContactFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    line_status = forms.ChoiceField(
        label=_("LINE"), required=False, choices=[("", _("Any")), *LineStatus.choices]
    )
    tag = forms.ChoiceField(label=_("Tag"), required=False, choices=[])
    consent = forms.ChoiceField(
        label=_("Consent"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Consented")), ("no", _("Opted out"))],
    )
    segment = forms.ModelChoiceField(
        label=_("Segment"), required=False, queryset=Segment.objects.none(), empty_label=_("Any")
    )

    def __init__(
        self, *args: Any, tags: list[str], segments: QuerySet[Segment], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        tag_field = self.fields["tag"]
        assert isinstance(tag_field, forms.ChoiceField)
        tag_field.choices = [("", _("Any")), *((t, t) for t in tags)]
        segment_field = self.fields["segment"]
        assert isinstance(segment_field, forms.ModelChoiceField)
        segment_field.queryset = segments

    def to_filter(self) -> ContactFilter:
        if not self.is_valid():
            return ContactFilter()
        data = dict(self.cleaned_data)
        segment = data.pop("segment", None)
        return ContactFilter(segment=segment, **{k: v or "" for k, v in data.items()})


class PickedContactsField(forms.Field):
    """The contact IDs ticked in the list (checkboxes named like the field), as sorted ints."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": _("Tick at least one contact in the list."),
        "invalid": _("Tick contacts in the list."),
    }

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return sorted({int(v) for v in value})
        except (TypeError, ValueError) as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class AudiencePickForm(forms.Form):
    """ "Create an audience from the selected contacts" under the contact list."""

    name = forms.CharField(label=_("Audience name"), max_length=200)
    contact_ids = PickedContactsField(label=_("Selected contacts"))
    # The list's own filters, so the page comes back as it was after a refusal.
    back = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportKind.choices)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 or Shift_JIS (as Excel and most POS systems save it), with a header."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 200 MB."))
        return upload


def field_label(kind: str, name: str) -> str:
    if kind == ImportKind.EVENTS and name in EVENT_FIELD_LABELS:
        return str(EVENT_FIELD_LABELS[name])
    return str(FIELD_LABELS.get(name, name))


class MappingForm(forms.Form):
    """One select per column of the file, preset to the proposal."""

    def __init__(self, *args: Any, proposal: MappingProposal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(IGNORE, str(_("Do not import")))]
        choices += [(name, field_label(proposal.kind, name)) for name in proposal.choices]
        if proposal.extras:
            choices.append((proposal.extras, field_label(proposal.kind, proposal.extras)))
        for column in proposal.columns:
            label = column.header or f"#{column.index + 1}"
            self.fields[f"col_{column.index}"] = forms.ChoiceField(
                label=label,
                choices=choices,
                initial=column.field,
                # The table shows the header in its own cell; screen readers need it here.
                widget=forms.Select(attrs={"aria-label": label}),
            )
        if proposal.kind == ImportKind.CONTACTS:
            self.fields["tag_separator"] = forms.ChoiceField(
                label=_("Tags are separated by"),
                choices=[(key, str(label)) for key, label in TAG_SEPARATOR_LABELS.items()],
                initial="auto",
                required=False,
            )

    def chosen(self) -> dict[int, str]:
        return {
            int(name[4:]): value
            for name, value in self.cleaned_data.items()
            if name.startswith("col_")
        }

    def tag_separator(self) -> str:
        return str(self.cleaned_data.get("tag_separator") or "auto")


# The choices of rows.TAG_SEPARATOR_CHOICES, as the mapping step names them.
TAG_SEPARATOR_LABELS = {
    "auto": _("Any of , 、 ; | / (spaces stay inside a tag)"),
    "comma": _("Commas (,)"),
    "touten": _("Japanese commas (、)"),
    "semicolon": _("Semicolons (;)"),
    "pipe": _("Vertical bars (|)"),
    "slash": _("Slashes (/)"),
    "space": _("Spaces (half- or full-width)"),
}
