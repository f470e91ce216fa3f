"""LINE's rich-menu image rules, checked with Pillow before anything goes to LINE."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_IMAGE_BYTES = 1024 * 1024
# LINE's template sizes (large and compact for each width); any other size LINE accepts
# (width 800-2500, height >= 250, width/height >= 1.45) can come through the API too.
SIZES: list[tuple[int, int]] = [
    (2500, 1686),
    (2500, 843),
    (1200, 810),
    (1200, 405),
    (800, 540),
    (800, 270),
]
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


class ImageError(ValueError):
    """The image breaks one of LINE's rules; the message names the rule."""


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    content_type: str
    extension: str


def size_problem(width: int, height: int) -> str | None:
    """LINE's rule a menu size breaks, None when LINE accepts it."""
    if not 800 <= width <= 2500:
        return _("The width must be between 800 and 2500 pixels (LINE's limit).")
    if height < 250:
        return _("The height must be at least 250 pixels (LINE's limit).")
    if width / height < 1.45:
        return _("Width divided by height must be at least 1.45 (LINE's limit).")
    return None


def check_image(data: bytes, width: int, height: int) -> CheckedImage:
    """The image if LINE will take it for a `width`×`height` menu; else ImageError."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(
            _("The image is %(size)s KB; LINE accepts at most 1024 KB (1 MB).")
            % {"size": (len(data) + 1023) // 1024}
        )
    try:
        with Image.open(BytesIO(data)) as image:
            kind, size = image.format, image.size
    except (UnidentifiedImageError, OSError):
        raise ImageError(_("The file is not an image LINE accepts: use a JPEG or PNG.")) from None
    if kind not in FORMATS:
        raise ImageError(
            _("The image is %(format)s; LINE accepts only JPEG or PNG.") % {"format": kind}
        )
    if size != (width, height):
        raise ImageError(
            _(
                "The image is %(w)s×%(h)s pixels but the menu is %(mw)s×%(mh)s: LINE needs "
                "the image to be exactly the menu's size."
            )
            % {"w": size[0], "h": size[1], "mw": width, "mh": height}
        )
    return CheckedImage(data, FORMATS[kind], "jpg" if kind == "JPEG" else "png")


def generate(width: int, height: int, labels: list[str], *, color: str = "#3d6cb9") -> bytes:
    """A plain PNG menu of equal columns with a label each (the demo's and the tests')."""
    from PIL import ImageDraw

    image = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(image)
    columns = max(1, len(labels))
    for index, label in enumerate(labels):
        left = index * width // columns
        draw.rectangle([left, 0, left + width // columns - 1, height - 1], outline="white", width=6)
        draw.text((left + 40, height // 2), label, fill="white", font_size=height // 8)
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
