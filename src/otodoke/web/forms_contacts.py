"""Forms of the contact pages: list filters, CSV upload, column mapping."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.japan import PREFECTURES
from otodoke.contacts.models import Gender, ImportKind
from otodoke.segments.contact_search import DEFAULT_SORT, SORTS, SearchFilters
from otodoke.segments.models import Segment
from otodoke.web.contacts import COLUMN_LABELS, DEFAULT_COLUMNS, ContactFilter
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


def _choices(pairs: Any) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in pairs]


class YenField(forms.IntegerField):
    """Whole yen; "30,000" and "30,000円" are read as 30000."""

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = value.replace(",", "").replace("，", "").removesuffix("円").strip()
        return super().to_python(value)


def _number(label: Any, **kwargs: Any) -> forms.IntegerField:
    # The page shows one label for a from–to pair; each box still names itself.
    attrs = {"class": "short", "inputmode": "numeric", "aria-label": label}
    return forms.IntegerField(
        label=label, required=False, min_value=0, widget=forms.NumberInput(attrs=attrs), **kwargs
    )


def _yen(label: Any) -> YenField:
    attrs = {"class": "short", "inputmode": "numeric", "aria-label": label}
    return YenField(label=label, required=False, min_value=0, widget=forms.TextInput(attrs=attrs))


class ContactFilterForm(forms.Form):
    """The customer search (顧客検索). Everything but the text search, the saved segment and the
    display choices becomes a segment definition (`search_filters().definition()`)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    age_min = _number(_("Age from"), max_value=150)
    age_max = _number(_("Age to"), max_value=150)
    gender = forms.MultipleChoiceField(
        label=_("Gender"),
        required=False,
        choices=Gender.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    birth_month = forms.TypedMultipleChoiceField(
        label=_("Birth month"),
        required=False,
        coerce=int,
        choices=_choices((m, m) for m in range(1, 13)),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "months"}),
    )
    prefecture = forms.MultipleChoiceField(
        label=_("Prefecture"),
        required=False,
        choices=[(p, p) for p in PREFECTURES],
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    last_visit = forms.ChoiceField(
        label=_("Last visit"),
        required=False,
        choices=[
            ("", _("Any")),
            ("within", _("within the last … days")),
            ("before", _("more than … days ago")),
            ("never", _("never visited")),
        ],
    )
    last_visit_days = _number(_("Days"), max_value=36500)
    visits_min = _number(_("Visits from"))
    visits_max = _number(_("Visits to"))
    spent_min = _yen(_("Total spent from (yen)"))
    spent_max = _yen(_("Total spent to (yen)"))
    tag = forms.ChoiceField(label=_("Tag"), required=False, choices=[])
    line = forms.ChoiceField(
        label=_("LINE"),
        required=False,
        choices=[
            ("", _("Any")),
            ("linked", _("Linked")),
            ("following", _("Following")),
            ("blocked", _("Blocked")),
            ("not_linked", _("Not linked")),
        ],
    )
    consent = forms.ChoiceField(
        label=_("Consent"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Consented")), ("no", _("Opted out"))],
    )
    who = forms.ChoiceField(
        label=_("Whom to list"),
        required=False,
        choices=[
            ("customers", _("Customers (with a customer number)")),
            ("line_only", _("LINE-only friends")),
            ("all", _("Customers and LINE-only friends")),
        ],
    )
    segment = forms.ModelChoiceField(
        label=_("Segment"), required=False, queryset=Segment.objects.none(), empty_label=_("Any")
    )
    cols = forms.MultipleChoiceField(
        label=_("Columns"),
        required=False,
        choices=[(k, v) for k, v in COLUMN_LABELS.items()],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "columns"}),
    )
    sort = forms.ChoiceField(
        required=False, choices=[(k, k) for k in SORTS], widget=forms.HiddenInput
    )
    dir = forms.ChoiceField(
        required=False, choices=[("asc", "asc"), ("desc", "desc")], widget=forms.HiddenInput
    )

    def __init__(
        self,
        *args: Any,
        tags: list[str],
        segments: QuerySet[Segment],
        default_who: str = "all",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.default_who = default_who
        self.fields["who"].initial = default_who
        self.fields["cols"].initial = list(DEFAULT_COLUMNS)
        tag_field = self.fields["tag"]
        assert isinstance(tag_field, forms.ChoiceField)
        tag_field.choices = [("", _("Any")), *((t, t) for t in tags)]
        segment_field = self.fields["segment"]
        assert isinstance(segment_field, forms.ModelChoiceField)
        segment_field.queryset = segments

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("last_visit") in {"within", "before"} and data.get("last_visit_days") is None:
            self.add_error("last_visit_days", _("Give the number of days."))
        for low, high in (
            ("age_min", "age_max"),
            ("visits_min", "visits_max"),
            ("spent_min", "spent_max"),
        ):
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                self.add_error(high, _("The upper bound is below the lower bound."))
        return data

    def _data(self) -> dict[str, Any]:
        return self.cleaned_data if self.is_valid() else {}

    def search_filters(self) -> SearchFilters:
        data = self._data()
        who = data.get("who") or self.default_who
        return SearchFilters(
            age_min=data.get("age_min"),
            age_max=data.get("age_max"),
            genders=tuple(data.get("gender") or ()),
            birth_months=tuple(data.get("birth_month") or ()),
            prefectures=tuple(data.get("prefecture") or ()),
            last_visit=data.get("last_visit") or "",
            last_visit_days=data.get("last_visit_days"),
            visits_min=data.get("visits_min"),
            visits_max=data.get("visits_max"),
            spent_min=data.get("spent_min"),
            spent_max=data.get("spent_max"),
            tags=(data["tag"],) if data.get("tag") else (),
            line=data.get("line") or "",
            consent=data.get("consent") or "",
            who=who,
        )

    def to_filter(self) -> ContactFilter:
        data = self._data()
        return ContactFilter(
            q=data.get("q") or "",
            filters=self.search_filters(),
            segment=data.get("segment"),
        )

    def columns(self) -> list[str]:
        chosen = self._data().get("cols") or list(DEFAULT_COLUMNS)
        return [c for c in COLUMN_LABELS if c in chosen]

    def ordering(self) -> tuple[str, bool]:
        """(sort key, descending)."""
        data = self._data()
        sort = data.get("sort") or DEFAULT_SORT
        default_dir = "desc" if sort in {"updated", "last_visit", "visits", "spent"} else "asc"
        return sort, (data.get("dir") or default_dir) == "desc"


class SaveSearchForm(forms.Form):
    """ "Save this search as a segment" under the filters: the definition is the list's own."""

    name = forms.CharField(label=_("Segment name"), max_length=100)
    definition = forms.JSONField(widget=forms.HiddenInput)
    # The list's own filters, so the page comes back as it was after a refusal.
    back = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


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
