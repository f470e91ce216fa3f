"""Forms of the segment, audience and export pages. The builder's condition inputs are read by
segments_builder (their names are JSON paths); these forms carry the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otodoke.segments.exports import ExportKind
from otodoke.web.segments_export import KIND_LABELS

# A LINE user ID line is 34 bytes: 1,500,000 IDs (LINE's own list limit) fit well under this.
MAX_ID_FILE_BYTES = 100 * 1024 * 1024


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Segment name"), max_length=200)
    description = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What this segment is for, for your colleagues."),
    )


class ExportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("File for"),
        choices=[(k.value, KIND_LABELS[k]) for k in ExportKind],
        widget=forms.RadioSelect,
        initial=ExportKind.LINE_IDS.value,
    )
    hashed = forms.BooleanField(
        label=_("Pre-hash with SHA-256"),
        required=False,
        help_text=_(
            "Business Manager files only: the values are normalised, then hashed here, so the "
            "addresses never leave Otodoke in clear."
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("hashed") and data.get("kind") == ExportKind.LINE_IDS:
            self.add_error("hashed", _("LINE user IDs are uploaded as they are, never hashed."))
        return data


class SnapshotForm(forms.Form):
    name = forms.CharField(label=_("Audience name"), max_length=200)


class AudienceUploadForm(forms.Form):
    name = forms.CharField(label=_("Audience name"), max_length=200)
    file = forms.FileField(
        label=_("User-ID file"),
        help_text=_("TXT or CSV, one LINE user ID per line, no header (UTF-8)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.csv,text/plain,text/csv"}),
    )
    strict = forms.BooleanField(
        label=_("Create nothing if any line has a problem"),
        required=False,
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_ID_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 100 MB."))
        return upload


class AudienceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=2000, widget=forms.Textarea
    )
