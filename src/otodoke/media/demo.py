"""The demo's product carousel: three product pictures drawn with Pillow, hosted like uploads,
on the cards of the 商品紹介 template."""

from __future__ import annotations

import copy
import io
from typing import Any

from PIL import Image, ImageDraw

from otodoke.media import services
from otodoke.messaging import rich
from otodoke.workspaces.models import Workspace

COLOURS = [(120, 170, 220), (236, 180, 196), (214, 190, 120)]


def product_picture(index: int) -> bytes:
    """A 1040×676 (LINE's 20:13 hero) picture: a bottle on a coloured background."""
    image = Image.new("RGB", (1040, 676), COLOURS[index % len(COLOURS)])
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((440, 150, 600, 600), radius=40, fill=(255, 255, 255))
    draw.rectangle((485, 90, 555, 150), fill=(80, 80, 80))
    draw.ellipse((470, 330, 570, 430), fill=COLOURS[(index + 1) % len(COLOURS)])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def product_carousel(workspace: Workspace) -> dict[str, Any]:
    """The 商品紹介 carousel with a hosted picture on each card. Hosted URLs are https only
    when OTODOKE_PUBLIC_URL (or OTODOKE_MEDIA_URL) is: LINE refuses other image URLs, so on
    plain http the cards go without pictures."""
    message: dict[str, Any] = copy.deepcopy(rich.presets()["products"]["message"])
    if not services.public_base().startswith("https://"):
        return message
    bubbles = message["contents"]["contents"]
    for index, bubble in enumerate(bubbles):
        image = services.upload_image(
            workspace, product_picture(index), name=f"demo-product-{index + 1}.jpg"
        )
        hero = rich.card_bubble(rich.Card(image=services.urls(image).original))["hero"]
        # In the order the editor builds a card, so the draft reads back into the form.
        bubbles[index] = {"type": "bubble", "hero": hero, **bubble}
    return message
