"""LINE message objects built from the visual editor's fields, and read back into them.

Staff fill in cards, coupons, imagemaps and templates; these functions turn the fields into
the LINE message JSON that is stored and sent, and turn a stored message back into fields
(`parse_*`) so editing round-trips. A message is read back only when rebuilding it from the
fields gives exactly the same JSON: anything else (hand-written Flex) stays in the JSON box.

A button's target is a URL (http, https, tel, line) for a link, or else the words the
customer's tap sends back to the shop (a message action).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_CARDS = 12  # LINE: a Flex carousel holds at most 12 bubbles
MAX_CARD_BUTTONS = 4
MAX_TEMPLATE_ACTIONS = 4
MAX_IMAGEMAP_AREAS = 50
IMAGEMAP_BASE_WIDTH = 1040
LINK_PREFIXES = ("https://", "http://", "tel:", "line://")
PRICE_COLOUR = "#D0021B"
COUPON_BACKGROUND = "#FFF4E5"


@dataclass
class Button:
    label: str = ""
    target: str = ""

    def action(self) -> dict[str, Any]:
        if self.target.startswith(LINK_PREFIXES) or self.target.startswith("{{"):
            return {"type": "uri", "label": self.label, "uri": self.target}
        return {"type": "message", "label": self.label, "text": self.target or self.label}


def button_of(action: Any) -> Button | None:
    if not isinstance(action, dict):
        return None
    if action.get("type") == "uri":
        return Button(str(action.get("label", "")), str(action.get("uri", "")))
    if action.get("type") == "message":
        return Button(str(action.get("label", "")), str(action.get("text", "")))
    return None


@dataclass
class Card:
    image: str = ""
    title: str = ""
    text: str = ""
    price: str = ""
    buttons: list[Button] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.image or self.title or self.text or self.price or self.buttons)


def _hero(url: str) -> dict[str, Any]:
    return {
        "type": "image",
        "url": url,
        "size": "full",
        "aspectRatio": "20:13",
        "aspectMode": "cover",
    }


def _footer(buttons: list[Button]) -> dict[str, Any]:
    return {
        "type": "box",
        "layout": "vertical",
        "spacing": "sm",
        "contents": [
            {
                "type": "button",
                "style": "primary" if index == 0 else "secondary",
                "height": "sm",
                "action": button.action(),
            }
            for index, button in enumerate(buttons)
        ],
    }


def card_bubble(card: Card) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    if card.title:
        body.append(
            {"type": "text", "text": card.title, "weight": "bold", "size": "lg", "wrap": True}
        )
    if card.text:
        body.append(
            {"type": "text", "text": card.text, "size": "sm", "color": "#555555", "wrap": True}
        )
    if card.price:
        body.append(
            {
                "type": "text",
                "text": card.price,
                "weight": "bold",
                "size": "md",
                "color": PRICE_COLOUR,
            }
        )
    bubble: dict[str, Any] = {"type": "bubble"}
    if card.image:
        bubble["hero"] = _hero(card.image)
    bubble["body"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body}
    if card.buttons:
        bubble["footer"] = _footer(card.buttons)
    return bubble


def cards_message(alt_text: str, cards: list[Card]) -> dict[str, Any]:
    """One card is a bubble; two to twelve are a carousel."""
    bubbles = [card_bubble(card) for card in cards]
    contents = bubbles[0] if len(bubbles) == 1 else {"type": "carousel", "contents": bubbles}
    return {"type": "flex", "altText": alt_text, "contents": contents}


def _card_of_bubble(bubble: Any) -> Card | None:
    if not isinstance(bubble, dict) or bubble.get("type") != "bubble":
        return None
    card = Card()
    hero = bubble.get("hero")
    if isinstance(hero, dict):
        card.image = str(hero.get("url", ""))
    for node in (bubble.get("body") or {}).get("contents") or []:
        if not isinstance(node, dict):
            return None
        if node.get("color") == PRICE_COLOUR:
            card.price = str(node.get("text", ""))
        elif node.get("weight") == "bold":
            card.title = str(node.get("text", ""))
        else:
            card.text = str(node.get("text", ""))
    for node in (bubble.get("footer") or {}).get("contents") or []:
        button = button_of(node.get("action") if isinstance(node, dict) else None)
        if button is None:
            return None
        card.buttons.append(button)
    return card


def parse_cards(message: dict[str, Any]) -> tuple[str, list[Card]] | None:
    if message.get("type") != "flex":
        return None
    contents = message.get("contents") or {}
    bubbles = contents.get("contents") if contents.get("type") == "carousel" else [contents]
    cards = [_card_of_bubble(b) for b in bubbles or []]
    if not cards or any(c is None for c in cards):
        return None
    found = [c for c in cards if c is not None]
    alt = str(message.get("altText", ""))
    return (alt, found) if cards_message(alt, found) == message else None


@dataclass
class Coupon:
    image: str = ""
    title: str = ""
    text: str = ""
    code: str = ""
    expiry: str = ""
    button: Button = field(default_factory=Button)


def coupon_message(alt_text: str, coupon: Coupon) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "text", "text": coupon.title, "weight": "bold", "size": "xl", "wrap": True}
    ]
    if coupon.text:
        body.append({"type": "text", "text": coupon.text, "size": "sm", "wrap": True})
    if coupon.code:
        body.append(
            {
                "type": "box",
                "layout": "vertical",
                "backgroundColor": COUPON_BACKGROUND,
                "cornerRadius": "md",
                "paddingAll": "md",
                "contents": [
                    {
                        "type": "text",
                        "text": coupon.code,
                        "weight": "bold",
                        "size": "xxl",
                        "align": "center",
                    }
                ],
            }
        )
    if coupon.expiry:
        body.append({"type": "text", "text": coupon.expiry, "size": "xs", "color": "#888888"})
    bubble: dict[str, Any] = {"type": "bubble"}
    if coupon.image:
        bubble["hero"] = _hero(coupon.image)
    bubble["body"] = {"type": "box", "layout": "vertical", "spacing": "md", "contents": body}
    if coupon.button.label:
        bubble["footer"] = _footer([coupon.button])
    return {"type": "flex", "altText": alt_text, "contents": bubble}


def parse_coupon(message: dict[str, Any]) -> tuple[str, Coupon] | None:
    if message.get("type") != "flex":
        return None
    bubble = message.get("contents") or {}
    if bubble.get("type") != "bubble":
        return None
    coupon = Coupon(image=str((bubble.get("hero") or {}).get("url", "")))
    for node in (bubble.get("body") or {}).get("contents") or []:
        if not isinstance(node, dict):
            return None
        if node.get("type") == "box":
            inner = node.get("contents") or [{}]
            coupon.code = str(inner[0].get("text", "")) if isinstance(inner[0], dict) else ""
        elif node.get("size") == "xl":
            coupon.title = str(node.get("text", ""))
        elif node.get("size") == "xs":
            coupon.expiry = str(node.get("text", ""))
        else:
            coupon.text = str(node.get("text", ""))
    footer = (bubble.get("footer") or {}).get("contents") or []
    if footer:
        button = button_of(footer[0].get("action") if isinstance(footer[0], dict) else None)
        coupon.button = button or Button()
    alt = str(message.get("altText", ""))
    return (alt, coupon) if coupon_message(alt, coupon) == message else None


@dataclass
class Area:
    x: int
    y: int
    width: int
    height: int
    button: Button


def imagemap_message(
    alt_text: str, base_url: str, base_height: int, areas: list[Area]
) -> dict[str, Any]:
    actions = []
    for area in areas:
        box = {"x": area.x, "y": area.y, "width": area.width, "height": area.height}
        action = area.button.action()
        if action["type"] == "uri":
            entry: dict[str, Any] = {"type": "uri", "linkUri": action["uri"], "area": box}
        else:
            entry = {"type": "message", "text": action["text"], "area": box}
        if area.button.label:
            entry["label"] = area.button.label
        actions.append(entry)
    return {
        "type": "imagemap",
        "baseUrl": base_url,
        "altText": alt_text,
        "baseSize": {"width": IMAGEMAP_BASE_WIDTH, "height": base_height},
        "actions": actions,
    }


def parse_imagemap(message: dict[str, Any]) -> tuple[str, str, int, list[Area]] | None:
    if message.get("type") != "imagemap" or "video" in message:
        return None
    areas = []
    for action in message.get("actions") or []:
        box = action.get("area") or {}
        target = action.get("linkUri") if action.get("type") == "uri" else action.get("text")
        areas.append(
            Area(
                int(box.get("x", 0)),
                int(box.get("y", 0)),
                int(box.get("width", 0)),
                int(box.get("height", 0)),
                Button(str(action.get("label", "")), str(target or "")),
            )
        )
    alt = str(message.get("altText", ""))
    base = str(message.get("baseUrl", ""))
    height = int((message.get("baseSize") or {}).get("height", 0))
    rebuilt = imagemap_message(alt, base, height, areas)
    return (alt, base, height, areas) if rebuilt == message else None


@dataclass
class TemplateFields:
    kind: str  # "buttons" or "confirm"
    text: str = ""
    title: str = ""
    image: str = ""
    buttons: list[Button] = field(default_factory=list)


def template_message(alt_text: str, fields: TemplateFields) -> dict[str, Any]:
    template: dict[str, Any] = {"type": fields.kind}
    if fields.kind == "buttons":
        if fields.image:
            template["thumbnailImageUrl"] = fields.image
        if fields.title:
            template["title"] = fields.title
    template["text"] = fields.text
    template["actions"] = [button.action() for button in fields.buttons]
    return {"type": "template", "altText": alt_text, "template": template}


def parse_template(message: dict[str, Any]) -> tuple[str, TemplateFields] | None:
    if message.get("type") != "template":
        return None
    template = message.get("template") or {}
    kind = template.get("type")
    if kind not in ("buttons", "confirm"):
        return None
    buttons = [button_of(a) for a in template.get("actions") or []]
    if any(b is None for b in buttons):
        return None
    fields = TemplateFields(
        kind=str(kind),
        text=str(template.get("text", "")),
        title=str(template.get("title", "")),
        image=str(template.get("thumbnailImageUrl", "")),
        buttons=[b for b in buttons if b is not None],
    )
    alt = str(message.get("altText", ""))
    return (alt, fields) if template_message(alt, fields) == message else None


def presets() -> dict[str, dict[str, Any]]:
    """The ready-made Japanese templates: key → {"name", "message"} (presets_ja.json)."""
    import json
    from pathlib import Path

    path = Path(__file__).with_name("presets_ja.json")
    loaded: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
