"""The visual editor's side of a message slot: card, coupon, imagemap, buttons and confirm.

A slot's repeated parts (cards, their buttons, imagemap tap areas, template buttons) arrive as
same-named inputs, one per part in page order (`m0-card_title` once per card); these helpers
read them, check them against LINE's rules in the user's language, and build the LINE message
with `otodoke.messaging.rich`. `initial` turns a stored message back into the editor's values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from otodoke.messaging import rich
from otodoke.messaging.validation import utf16_len

if TYPE_CHECKING:
    from otodoke.web.campaigns_forms import MessageForm

CARD = "card"
COUPON = "coupon"
IMAGEMAP = "imagemap"
BUTTONS = "buttons"
CONFIRM = "confirm"
RICH_KINDS = (CARD, COUPON, IMAGEMAP, BUTTONS, CONFIRM)
CARD_FIELDS = ("image", "title", "text", "price")
FLEX_BUTTON_LABEL_MAX = 40  # LINE: a Flex button's label
TEMPLATE_LABEL_MAX = 20  # LINE: a template action's label


def _lists(form: MessageForm, names: list[str]) -> list[list[str]]:
    data = form.data
    return [
        [str(v) for v in data.getlist(form.add_prefix(n))] if hasattr(data, "getlist") else []
        for n in names
    ]


def _buttons(labels: list[str], targets: list[str]) -> list[rich.Button]:
    pairs = zip(labels, targets, strict=False)
    return [
        rich.Button(label.strip(), target.strip())
        for label, target in pairs
        if label.strip() or target.strip()
    ]


def posted_cards(form: MessageForm) -> list[rich.Card]:
    columns = _lists(form, [f"card_{name}" for name in CARD_FIELDS])
    count = max((len(c) for c in columns), default=0)
    button_columns = [
        _lists(form, [f"card_b{j}_label", f"card_b{j}_target"])
        for j in range(rich.MAX_CARD_BUTTONS)
    ]
    cards = []
    for index in range(count):
        values = [c[index].strip() if index < len(c) else "" for c in columns]
        buttons = []
        for labels, targets in button_columns:
            label = labels[index].strip() if index < len(labels) else ""
            target = targets[index].strip() if index < len(targets) else ""
            if label or target:
                buttons.append(rich.Button(label, target))
        image, title, text, price = values
        cards.append(rich.Card(image, title, text, price, buttons=buttons))
    return cards


def posted_areas(form: MessageForm) -> list[rich.Area]:
    xs, ys, ws, hs, labels, targets = _lists(
        form, ["area_x", "area_y", "area_w", "area_h", "area_label", "area_target"]
    )
    areas = []
    for index in range(len(xs)):
        try:
            box = [int(float(v[index])) for v in (xs, ys, ws, hs)]
        except (ValueError, IndexError):
            continue
        label = labels[index].strip() if index < len(labels) else ""
        target = targets[index].strip() if index < len(targets) else ""
        x, y, w, h = box
        areas.append(rich.Area(x, y, w, h, button=rich.Button(label, target)))
    return areas


def _check_buttons(form: MessageForm, buttons: list[rich.Button], where: str, limit: int) -> None:
    for number, button in enumerate(buttons, start=1):
        if not button.label:
            form.add_error(
                None,
                _("%(where)s, button %(n)s: enter the button's label.")
                % {"where": where, "n": number},
            )
        elif utf16_len(button.label) > limit:
            form.add_error(
                None,
                _(
                    "%(where)s, button %(n)s: the label is %(length)s characters; "
                    "LINE allows %(limit)s."
                )
                % {"where": where, "n": number, "length": utf16_len(button.label), "limit": limit},
            )


def clean(form: MessageForm, kind: str, data: dict[str, Any]) -> None:
    """LINE's rules for the editor's fields, as errors on the slot (before anything is saved)."""
    if (
        kind in (CARD, COUPON, IMAGEMAP, BUTTONS, CONFIRM)
        and not str(data.get("alt_text") or "").strip()
    ):
        form.add_error("alt_text", _("Required for this message type."))
    if kind == CARD:
        cards = [c for c in posted_cards(form) if not c.is_empty()]
        if not cards:
            form.add_error(None, _("Add at least one card."))
        if len(cards) > rich.MAX_CARDS:
            form.add_error(
                None,
                _("%(n)s cards: LINE's carousel holds at most %(max)s.")
                % {"n": len(cards), "max": rich.MAX_CARDS},
            )
        for number, card in enumerate(cards, start=1):
            where = _("Card %(n)s") % {"n": number}
            if not (card.title or card.text):
                form.add_error(None, _("%(where)s: enter a title or a text.") % {"where": where})
            _check_buttons(form, card.buttons, where, FLEX_BUTTON_LABEL_MAX)
    elif kind == COUPON:
        if not str(data.get("coupon_title") or "").strip():
            form.add_error("coupon_title", _("Required for this message type."))
        if (
            str(data.get("coupon_target") or "").strip()
            and not str(data.get("coupon_label") or "").strip()
        ):
            form.add_error("coupon_label", _("Enter the button's label."))
    elif kind == IMAGEMAP:
        if not str(data.get("map_base") or "").strip():
            form.add_error(None, _("Upload the imagemap's image."))
        areas = posted_areas(form)
        if not areas:
            form.add_error(None, _("Draw at least one tap area on the image."))
        if len(areas) > rich.MAX_IMAGEMAP_AREAS:
            form.add_error(
                None,
                _("%(n)s tap areas: LINE allows at most %(max)s.")
                % {"n": len(areas), "max": rich.MAX_IMAGEMAP_AREAS},
            )
        for number, area in enumerate(areas, start=1):
            if not area.button.target:
                form.add_error(
                    None, _("Tap area %(n)s: enter a link or the words it sends.") % {"n": number}
                )
            if area.width <= 0 or area.height <= 0:
                form.add_error(None, _("Tap area %(n)s has no size.") % {"n": number})
    elif kind in (BUTTONS, CONFIRM):
        if not str(data.get("tpl_text") or "").strip():
            form.add_error("tpl_text", _("Required for this message type."))
        buttons = _buttons(*_lists(form, ["act_label", "act_target"]))
        if kind == CONFIRM and len(buttons) != 2:
            form.add_error(
                None,
                _("A confirm template has exactly two buttons in LINE (now %(n)s).")
                % {"n": len(buttons)},
            )
        if kind == BUTTONS and not 1 <= len(buttons) <= rich.MAX_TEMPLATE_ACTIONS:
            form.add_error(
                None,
                _("A buttons template has one to %(max)s buttons in LINE (now %(n)s).")
                % {"n": len(buttons), "max": rich.MAX_TEMPLATE_ACTIONS},
            )
        _check_buttons(form, buttons, _("Template"), TEMPLATE_LABEL_MAX)


def _map_height(data: dict[str, Any]) -> int:
    """baseSize.height: from the hosted image when it is ours, else the posted value."""
    from otodoke.media.models import HostedImage
    from otodoke.media.services import KEY_PATTERN

    base = str(data.get("map_base") or "")
    match = KEY_PATTERN.search(base + "/")
    if match:
        image = HostedImage.objects.filter(key=match.group(1)).first()
        if image is not None:
            return image.base_height()
    try:
        return max(1, int(data.get("map_height") or 0))
    except ValueError:
        return 1040


def message(form: MessageForm, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    alt = str(data.get("alt_text") or "")
    if kind == CARD:
        return rich.cards_message(alt, [c for c in posted_cards(form) if not c.is_empty()])
    if kind == COUPON:
        coupon = rich.Coupon(
            image=str(data.get("coupon_image") or "").strip(),
            title=str(data.get("coupon_title") or "").strip(),
            text=str(data.get("coupon_text") or "").strip(),
            code=str(data.get("coupon_code") or "").strip(),
            expiry=str(data.get("coupon_expiry") or "").strip(),
            button=rich.Button(
                str(data.get("coupon_label") or "").strip(),
                str(data.get("coupon_target") or "").strip(),
            ),
        )
        return rich.coupon_message(alt, coupon)
    if kind == IMAGEMAP:
        base = str(data.get("map_base") or "").strip()
        return rich.imagemap_message(alt, base, _map_height(data), posted_areas(form))
    fields = rich.TemplateFields(
        kind=kind,
        text=str(data.get("tpl_text") or "").strip(),
        title=str(data.get("tpl_title") or "").strip() if kind == BUTTONS else "",
        image=str(data.get("tpl_image") or "").strip() if kind == BUTTONS else "",
        buttons=_buttons(*_lists(form, ["act_label", "act_target"])),
    )
    return rich.template_message(alt, fields)


def _button_dict(button: rich.Button) -> dict[str, str]:
    return {"label": button.label, "target": button.target}


def _card_dict(card: rich.Card) -> dict[str, Any]:
    buttons = [_button_dict(b) for b in card.buttons]
    buttons += [{"label": "", "target": ""}] * (rich.MAX_CARD_BUTTONS - len(buttons))
    return {
        "image": card.image,
        "title": card.title,
        "text": card.text,
        "price": card.price,
        "buttons": buttons,
    }


def initial(message_: dict[str, Any]) -> dict[str, Any] | None:
    """The editor's values for a stored message it can show, else None (the JSON box)."""
    if (cards := rich.parse_cards(message_)) is not None:
        alt, found = cards
        return {"kind": CARD, "alt_text": alt, "cards": [_card_dict(c) for c in found]}
    if (coupon := rich.parse_coupon(message_)) is not None:
        alt, c = coupon
        return {
            "kind": COUPON,
            "alt_text": alt,
            "coupon_image": c.image,
            "coupon_title": c.title,
            "coupon_text": c.text,
            "coupon_code": c.code,
            "coupon_expiry": c.expiry,
            "coupon_label": c.button.label,
            "coupon_target": c.button.target,
        }
    if (imagemap := rich.parse_imagemap(message_)) is not None:
        alt, base, height, areas = imagemap
        return {
            "kind": IMAGEMAP,
            "alt_text": alt,
            "map_base": base,
            "map_height": height,
            "areas": [
                {
                    "x": a.x,
                    "y": a.y,
                    "w": a.width,
                    "h": a.height,
                    "label": a.button.label,
                    "target": a.button.target,
                }
                for a in areas
            ],
        }
    if (template := rich.parse_template(message_)) is not None:
        alt, fields = template
        return {
            "kind": fields.kind,
            "alt_text": alt,
            "tpl_text": fields.text,
            "tpl_title": fields.title,
            "tpl_image": fields.image,
            "actions": [_button_dict(b) for b in fields.buttons],
        }
    return None


def editor_state(form: MessageForm) -> dict[str, Any]:
    """What the editor shows: the posted parts on a bound form, else the initial ones."""
    if form.is_bound:
        cards = [_card_dict(c) for c in posted_cards(form)]
        areas = [
            {
                "x": a.x,
                "y": a.y,
                "w": a.width,
                "h": a.height,
                "label": a.button.label,
                "target": a.button.target,
            }
            for a in posted_areas(form)
        ]
        actions = [_button_dict(b) for b in _buttons(*_lists(form, ["act_label", "act_target"]))]
    else:
        cards = list(form.initial.get("cards") or [])
        areas = list(form.initial.get("areas") or [])
        actions = list(form.initial.get("actions") or [])
    if not cards:
        cards = [_card_dict(rich.Card())]
    actions += [{"label": "", "target": ""}] * (rich.MAX_TEMPLATE_ACTIONS - len(actions))
    return {"cards": cards, "areas": areas, "actions": actions[: rich.MAX_TEMPLATE_ACTIONS]}


def _flatten(prefix: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        if key == "cards":
            for card in value:
                for name in CARD_FIELDS:
                    pairs.append((f"{prefix}-card_{name}", str(card[name])))
                for j, button in enumerate(card["buttons"]):
                    pairs.append((f"{prefix}-card_b{j}_label", button["label"]))
                    pairs.append((f"{prefix}-card_b{j}_target", button["target"]))
        elif key == "areas":
            for area in value:
                for name in ("x", "y", "w", "h", "label", "target"):
                    pairs.append((f"{prefix}-area_{name}", str(area[name])))
        elif key == "actions":
            for button in value:
                pairs.append((f"{prefix}-act_label", button["label"]))
                pairs.append((f"{prefix}-act_target", button["target"]))
        else:
            pairs.append((f"{prefix}-{key}", str(value)))
    return pairs


def _as_json(data: QueryDict, prefix: str) -> dict[str, Any] | None:
    """The slot's message as the experts' JSON fields (「JSONで編集」), if it is valid."""
    import json

    from otodoke.web.campaigns_forms import MessageForm

    form = MessageForm(data, prefix=prefix)
    built = form.message() if form.is_valid() else None
    if built is None:
        return None
    if built.get("type") == "flex":
        contents = json.dumps(built["contents"], ensure_ascii=False, indent=2)
        return {"kind": "flex", "alt_text": built.get("altText", ""), "flex_json": contents}
    return {"kind": "json", "raw_json": json.dumps(built, ensure_ascii=False, indent=2)}


def with_preset(data: QueryDict) -> QueryDict | None:
    """The posted form with one slot replaced, when the person asked for it: a ready-made
    template (the slot's 「テンプレートを使う」 posts `apply_preset=<slot>`) or the slot's
    message as JSON for experts (`to_json=<slot>`); else None."""
    slot = data.get("apply_preset", "") or data.get("to_json", "")
    if not slot.isdigit():
        return None
    prefix = f"m{int(slot)}"
    if data.get("apply_preset"):
        chosen = rich.presets().get(data.get(f"{prefix}-preset", ""))
        values = (initial(chosen["message"]) or {}) if chosen else None
    else:
        values = _as_json(data, prefix)
    out = QueryDict(mutable=True)
    for key, items in data.lists():
        if key in ("apply_preset", "to_json"):
            continue
        if values is not None and key.startswith(f"{prefix}-"):
            continue
        out.setlist(key, items)
    for key, value in _flatten(prefix, values or {}):
        out.appendlist(key, value)
    return out


def preset_choices() -> list[tuple[str, str]]:
    return [(key, str(p["name"])) for key, p in rich.presets().items()]
