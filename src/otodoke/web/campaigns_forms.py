"""Input forms of the campaign pages. They only turn browser input into the shapes the
campaigns services take (message objects, a target dict, contact IDs, a time); LINE's limits
and the template rules are checked by `otodoke.messaging` through those services."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.models import Contact
from otodoke.segments.models import Audience, Segment
from otodoke.tracking.models import TrackedLink
from otodoke.web import rich_forms
from otodoke.workspaces.models import Workspace

MAX_MESSAGES = 5


class MessageKind:
    TEXT = "text"
    IMAGE = "image"
    STICKER = "sticker"
    CARD = rich_forms.CARD
    COUPON = rich_forms.COUPON
    IMAGEMAP = rich_forms.IMAGEMAP
    BUTTONS = rich_forms.BUTTONS
    CONFIRM = rich_forms.CONFIRM
    FLEX = "flex"
    JSON = "json"


KIND_CHOICES: list[tuple[Any, Any]] = [
    ("", _("(no message)")),
    (MessageKind.TEXT, _("Text")),
    (MessageKind.IMAGE, _("Image")),
    (MessageKind.CARD, _("Card / carousel of cards")),
    (MessageKind.COUPON, _("Coupon")),
    (MessageKind.IMAGEMAP, _("Imagemap (an image with tap areas)")),
    (MessageKind.BUTTONS, _("Buttons template")),
    (MessageKind.CONFIRM, _("Confirm template")),
    (MessageKind.STICKER, _("Sticker")),
    (
        _("For experts"),
        [
            (MessageKind.FLEX, _("Flex message (JSON)")),
            (MessageKind.JSON, _("Other message object (JSON)")),
        ],
    ),
]


def _line(label: Any, **attrs: str) -> forms.CharField:
    widget_attrs = {"data-placeholder-target": "1", **attrs}
    return forms.CharField(label=label, required=False, widget=forms.TextInput(attrs=widget_attrs))


def _box(label: Any, rows: int = 3) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": rows, "data-placeholder-target": "1"}),
    )


def _json_field(label: Any, help_text: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
    )


class MessageForm(forms.Form):
    """One of a campaign's 1–5 message objects. Which fields count depends on `kind`."""

    kind = forms.ChoiceField(label=_("Message type"), choices=KIND_CHOICES, required=False)
    text = forms.CharField(
        label=_("Text"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5, "data-placeholder-target": "1"}),
        help_text=_("Personalise with placeholders such as {{ name }}; links are tracked."),
    )
    image_url = forms.URLField(label=_("Image URL (HTTPS, JPEG or PNG)"), required=False)
    preview_url = forms.URLField(
        label=_("Preview image URL"),
        required=False,
        help_text=_("Leave empty to use the image itself."),
    )
    package_id = forms.CharField(label=_("Sticker package ID"), required=False, max_length=20)
    sticker_id = forms.CharField(label=_("Sticker ID"), required=False, max_length=20)
    alt_text = forms.CharField(
        label=_("Alternative text"),
        required=False,
        help_text=_("Shown in notifications and chat lists."),
    )
    flex_json = _json_field(
        _("Flex contents (JSON)"), _("A bubble or carousel, e.g. from LINE's Flex Simulator.")
    )
    raw_json = _json_field(_("Message object (JSON)"), _("Any LINE message object."))
    # The visual editor (otodoke.web.rich_forms); cards, areas and buttons are repeated
    # inputs read from the posted data.
    preset = forms.ChoiceField(label=_("Ready-made template"), required=False)
    coupon_image = forms.CharField(label=_("Image"), required=False)
    coupon_title = _line(_("Offer (e.g. 10% OFF)"))
    coupon_text = _box(_("Text"))
    coupon_code = forms.CharField(label=_("Coupon code"), required=False, max_length=40)
    coupon_expiry = _line(_("Valid until"))
    coupon_label = forms.CharField(label=_("Button label"), required=False)
    coupon_target = forms.CharField(label=_("Button link or words it sends"), required=False)
    tpl_image = forms.CharField(label=_("Image"), required=False)
    tpl_title = _line(_("Title"))
    tpl_text = _box(_("Text"))
    map_base = forms.CharField(required=False, widget=forms.HiddenInput)
    map_height = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("Choose a template…")), *rich_forms.preset_choices()]
        self.fields["preset"].choices = choices  # type: ignore[attr-defined]

    def editor(self) -> dict[str, Any]:
        return rich_forms.editor_state(self)

    def _json(self, name: str) -> Any:
        try:
            return json.loads(self.cleaned_data.get(name) or "")
        except json.JSONDecodeError as exc:
            self.add_error(
                name,
                _("Not valid JSON (line %(line)s, column %(column)s): %(error)s")
                % {"line": exc.lineno, "column": exc.colno, "error": exc.msg},
            )
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        required = {
            MessageKind.TEXT: ["text"],
            MessageKind.IMAGE: ["image_url"],
            MessageKind.STICKER: ["package_id", "sticker_id"],
            MessageKind.FLEX: ["alt_text", "flex_json"],
            MessageKind.JSON: ["raw_json"],
        }.get(str(kind), [])
        for name in required:
            if not str(data.get(name) or "").strip():
                self.add_error(name, _("Required for this message type."))
        if kind in rich_forms.RICH_KINDS:
            rich_forms.clean(self, str(kind), data)
        return data

    def message(self) -> dict[str, Any] | None:
        """The LINE message object, or None for an unused slot. Call after is_valid()."""
        data = self.cleaned_data
        kind = data.get("kind")
        if kind in rich_forms.RICH_KINDS:
            return rich_forms.message(self, str(kind), data)
        if kind == MessageKind.TEXT:
            return {"type": "text", "text": data["text"]}
        if kind == MessageKind.IMAGE:
            url = data["image_url"]
            return {
                "type": "image",
                "originalContentUrl": url,
                "previewImageUrl": data.get("preview_url") or url,
            }
        if kind == MessageKind.STICKER:
            return {
                "type": "sticker",
                "packageId": data["package_id"].strip(),
                "stickerId": data["sticker_id"].strip(),
            }
        if kind == MessageKind.FLEX:
            return {
                "type": "flex",
                "altText": data["alt_text"],
                "contents": self._json("flex_json"),
            }
        if kind == MessageKind.JSON:
            value = self._json("raw_json")
            return value if isinstance(value, dict) else {"type": None, "value": value}
        return None


def initial_for(message: dict[str, Any]) -> dict[str, Any]:
    """Form values for an existing message object (copying a campaign into a new draft)."""
    rich = rich_forms.initial(message)
    if rich is not None:
        return rich
    kind = message.get("type")
    if kind == "text":
        return {"kind": MessageKind.TEXT, "text": message.get("text", "")}
    if kind == "image":
        return {
            "kind": MessageKind.IMAGE,
            "image_url": message.get("originalContentUrl", ""),
            "preview_url": message.get("previewImageUrl", ""),
        }
    if kind == "sticker":
        return {
            "kind": MessageKind.STICKER,
            "package_id": message.get("packageId", ""),
            "sticker_id": message.get("stickerId", ""),
        }
    if kind == "flex":
        return {
            "kind": MessageKind.FLEX,
            "alt_text": message.get("altText", ""),
            "flex_json": json.dumps(message.get("contents"), ensure_ascii=False, indent=2),
        }
    return {"kind": MessageKind.JSON, "raw_json": json.dumps(message, ensure_ascii=False, indent=2)}


def message_forms(
    data: Any = None, messages: list[dict[str, Any]] | None = None
) -> list[MessageForm]:
    """Five slots with prefixes m0…m4; the first defaults to a text message."""
    initial = [initial_for(m) for m in messages or []]
    forms_ = []
    for index in range(MAX_MESSAGES):
        start = initial[index] if index < len(initial) else {}
        if index == 0 and not start:
            start = {"kind": MessageKind.TEXT}
        forms_.append(MessageForm(data, prefix=f"m{index}", initial=start))
    return forms_


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Campaign name"), max_length=200)
    track_links = forms.BooleanField(
        label=_("Track link clicks per recipient"), required=False, initial=True
    )
    notification_disabled = forms.BooleanField(
        label=_("Send without a notification sound"), required=False
    )


class TargetForm(forms.Form):
    """Who the campaign is for; the campaigns service evaluates it when the send starts."""

    all_friends = forms.BooleanField(label=_("All friends"), required=False)
    include_segments = forms.ModelMultipleChoiceField(
        label=_("Include segments"),
        queryset=Segment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    include_audiences = forms.ModelMultipleChoiceField(
        label=_("Include audiences"),
        queryset=Audience.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    exclude_segments = forms.ModelMultipleChoiceField(
        label=_("Exclude segments"),
        queryset=Segment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    exclude_audiences = forms.ModelMultipleChoiceField(
        label=_("Exclude audiences"),
        queryset=Audience.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this workspace's lists can be chosen, so an edited ID from elsewhere is refused.
        segments = Segment.objects.filter(workspace=workspace)
        audiences = Audience.objects.filter(workspace=workspace)
        for name in ("include_segments", "exclude_segments"):
            self.fields[name].queryset = segments  # type: ignore[attr-defined]
        for name in ("include_audiences", "exclude_audiences"):
            self.fields[name].queryset = audiences  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("all_friends") and not (
            data.get("include_segments") or data.get("include_audiences")
        ):
            raise forms.ValidationError(
                _("Choose all friends, or at least one segment or audience to include.")
            )
        return data

    def target(self) -> dict[str, Any]:
        data = self.cleaned_data
        include = [{"segment": s.pk} for s in data["include_segments"]]
        include += [{"audience": a.pk} for a in data["include_audiences"]]
        exclude = [{"segment": s.pk} for s in data["exclude_segments"]]
        exclude += [{"audience": a.pk} for a in data["exclude_audiences"]]
        target: dict[str, Any] = {"include": include, "exclude": exclude}
        if data["all_friends"] and not include:
            target["all_friends"] = True
        return target


def target_initial(target: dict[str, Any]) -> dict[str, Any]:
    def ids(parts: list[dict[str, Any]], kind: str) -> list[int]:
        return [int(p[kind]) for p in parts if kind in p]

    include, exclude = target.get("include", []), target.get("exclude", [])
    return {
        "all_friends": bool(target.get("all_friends")),
        "include_segments": ids(include, "segment"),
        "include_audiences": ids(include, "audience"),
        "exclude_segments": ids(exclude, "segment"),
        "exclude_audiences": ids(exclude, "audience"),
    }


class TestSendForm(forms.Form):
    """Staff pick a few contacts (usually their own LINE accounts) to receive a test."""

    contacts = forms.ModelMultipleChoiceField(
        label=_("Send a test to"),
        queryset=Contact.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self, *args: Any, workspace: Workspace, candidates: list[Contact], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["contacts"]
        # Any contact of this workspace validates; only a short list is offered, because a
        # shop can have far more contacts than a page of checkboxes can hold.
        field.queryset = Contact.objects.filter(workspace=workspace)  # type: ignore[attr-defined]
        field.widget.choices = [(c.pk, c.name or c.line_display_name or c.pk) for c in candidates]


class SendForm(forms.Form):
    WHEN_CHOICES = [("now", _("Send now")), ("later", _("Schedule"))]

    when = forms.ChoiceField(
        label=_("When"), choices=WHEN_CHOICES, initial="now", widget=forms.RadioSelect
    )
    # Parsed in the current time zone, which workspace views set to the workspace's own.
    at = forms.DateTimeField(
        label=_("Date and time"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("when") == "later":
            at = data.get("at")
            if not at:
                self.add_error("at", _("Choose when to send."))
            elif at <= timezone.now():
                self.add_error("at", _("Choose a time in the future."))
        return data


class ClickersSegmentForm(forms.Form):
    name = forms.CharField(label=_("Segment name"), max_length=200)
    # 0 (the empty choice) stands for every link of the campaign.
    link = forms.TypedChoiceField(label=_("Clicked"), coerce=int, empty_value=0, required=False)  # type: ignore[arg-type]

    def __init__(self, *args: Any, links: list[TrackedLink], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[Any, Any]] = [("", _("Any link of this campaign"))]
        choices += [(link.pk, link.url) for link in links]
        self.fields["link"].choices = choices  # type: ignore[attr-defined]
