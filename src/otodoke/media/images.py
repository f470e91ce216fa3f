"""Turn an uploaded file into the images LINE asks for, with Pillow.

LINE's requirements (Messaging API reference, image and imagemap messages): JPEG or PNG;
the original ≤ 10 MB; the preview ≤ 1 MB; an imagemap served at 240/300/460/700/1040 px wide.
Anything else (another format, a broken file, too small or too large) is refused with a
message that names the limit, in the user's language.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # LINE's limit for an original image
MAX_PREVIEW_BYTES = 1024 * 1024  # LINE's limit for a preview image
MIN_SIDE = 240  # a preview must be at least 240×240 px
# Longer sides are downsized: LINE shows nothing sharper, and files stay small for phones.
MAX_STORED_SIDE = 2048
PREVIEW_SIDE = 1024
# Beyond this many pixels a file is refused before it is decoded (a "decompression bomb").
MAX_PIXELS = 40_000_000
IMAGEMAP_WIDTHS = (240, 300, 460, 700, 1040)
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


class ImageRejectedError(ValueError):
    """The file cannot become a LINE image; the message says why, for the person uploading."""


@dataclass
class ProcessedImage:
    key: str
    format: str  # "jpeg" or "png"
    width: int
    height: int
    original: bytes
    preview: bytes
    imagemap: dict[int, bytes] = field(default_factory=dict)


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:40]


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def _encode(image: Image.Image, fmt: str, *, quality: int = 88) -> bytes:
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, "PNG", optimize=True)
    else:
        image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """Transparent pixels on white, for a JPEG."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def _shrunk(image: Image.Image, side: int) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    return copy


def _jpeg_within(image: Image.Image, limit: int) -> bytes:
    """The best JPEG quality, then the largest size, that fits in `limit` bytes."""
    current = _flatten(image)
    while True:
        for quality in (85, 75, 65, 50):
            data = _encode(current, "jpeg", quality=quality)
            if len(data) <= limit:
                return data
        current = current.resize(
            (max(1, int(current.width * 0.8)), max(1, int(current.height * 0.8))),
            Image.Resampling.LANCZOS,
        )


def _resized_to_width(image: Image.Image, width: int) -> Image.Image:
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def process(data: bytes) -> ProcessedImage:
    """Check and convert one uploaded file. Raises ImageRejectedError with the reason."""
    if not data:
        raise ImageRejectedError(_("The file is empty."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejectedError(
            _("The file is %(size)s MB; LINE accepts images of up to 10 MB.")
            % {"size": _megabytes(len(data))}
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            width, height = probe.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ImageRejectedError(
            _("This file is not an image Otodoke can read. Choose a JPEG or PNG file.")
        ) from exc
    if fmt not in ACCEPTED_FORMATS:
        raise ImageRejectedError(
            _("%(format)s images are not accepted. Choose a JPEG or PNG file (LINE's formats).")
            % {"format": fmt or "?"}
        )
    if width * height > MAX_PIXELS:
        raise ImageRejectedError(
            _(
                "The image is %(width)s×%(height)s pixels, too large to process; "
                "make it smaller than %(limit)s million pixels."
            )
            % {"width": width, "height": height, "limit": MAX_PIXELS // 1_000_000}
        )
    if min(width, height) < MIN_SIDE:
        raise ImageRejectedError(
            _(
                "The image is %(width)s×%(height)s pixels; LINE needs at least "
                "%(min)s×%(min)s pixels."
            )
            % {"width": width, "height": height, "min": MIN_SIDE}
        )
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.seek(0)  # the first frame of an animation
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (OSError, ValueError) as exc:
        raise ImageRejectedError(
            _("This file is not an image Otodoke can read. Choose a JPEG or PNG file.")
        ) from exc
    transparent = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    out_format = "png" if transparent else "jpeg"
    if transparent:
        image = image.convert("RGBA")
    elif image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    stored = _shrunk(image, MAX_STORED_SIDE)
    original = _encode(stored, out_format)
    if len(original) > MAX_UPLOAD_BYTES:
        out_format, original = "jpeg", _jpeg_within(stored, MAX_UPLOAD_BYTES)
    preview = _jpeg_within(_shrunk(stored, PREVIEW_SIDE), MAX_PREVIEW_BYTES)
    imagemap = {
        width_: _encode(_resized_to_width(stored, width_), out_format) for width_ in IMAGEMAP_WIDTHS
    }
    return ProcessedImage(
        key=content_key(data),
        format=out_format,
        width=stored.width,
        height=stored.height,
        original=original,
        preview=preview,
        imagemap=imagemap,
    )
