"""Converting uploads to what LINE requires, and refusing what LINE could not show."""

from __future__ import annotations

import io

import pytest
from django.utils import translation
from PIL import Image

from otodoke.media.images import (
    IMAGEMAP_WIDTHS,
    MAX_PREVIEW_BYTES,
    MAX_UPLOAD_BYTES,
    ImageRejectedError,
    process,
)
from otodoke.media.tests.conftest import picture


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_large_photo_is_downsized_and_every_imagemap_width_is_made() -> None:
    result = process(picture(4000, 3000))
    assert (result.width, result.height) == (2048, 1536)
    assert opened(result.original).format == "JPEG"
    assert opened(result.original).size == (2048, 1536)
    for width in IMAGEMAP_WIDTHS:
        assert opened(result.imagemap[width]).size == (width, round(width * 3000 / 4000))
    preview = opened(result.preview)
    assert preview.format == "JPEG"
    assert max(preview.size) == 1024
    assert len(result.preview) <= MAX_PREVIEW_BYTES


def test_a_noisy_photo_still_gets_a_preview_within_one_megabyte() -> None:
    result = process(picture(1800, 1800, noise=True))
    assert len(result.preview) <= MAX_PREVIEW_BYTES
    assert min(opened(result.preview).size) >= 240
    assert len(result.original) <= MAX_UPLOAD_BYTES


def test_webp_becomes_jpeg_and_transparent_png_stays_png() -> None:
    assert process(picture(600, 400, fmt="WEBP")).format == "jpeg"
    transparent = process(picture(600, 400, fmt="PNG", mode="RGBA"))
    assert transparent.format == "png"
    assert opened(transparent.original).mode == "RGBA"
    assert opened(transparent.preview).format == "JPEG"  # flattened on white


def test_the_same_file_has_the_same_key_and_another_file_another() -> None:
    first = picture(300, 300)
    assert process(first).key == process(first).key
    assert process(first).key != process(picture(301, 300)).key
    assert len(process(first).key) == 40


def test_too_small_an_image_names_lines_minimum_in_japanese() -> None:
    with translation.override("ja"), pytest.raises(ImageRejectedError) as caught:
        process(picture(300, 200))
    assert str(caught.value) == (
        "画像は 300×200 ピクセルです。LINE では 240×240 ピクセル以上が必要です。"
    )


def test_a_file_over_ten_megabytes_is_refused_with_its_size() -> None:
    with translation.override("ja"), pytest.raises(ImageRejectedError) as caught:
        process(b"\xff\xd8" + b"0" * (MAX_UPLOAD_BYTES + 1))
    assert "10.0 MB" in str(caught.value)
    assert "LINE で送れる画像は 10 MB までです" in str(caught.value)


def test_a_file_that_is_not_an_image_is_refused() -> None:
    with translation.override("ja"), pytest.raises(ImageRejectedError) as caught:
        process("顧客番号,氏名\n1,花子\n".encode())
    assert "JPEG または PNG" in str(caught.value)


def test_a_bmp_is_refused_naming_its_format() -> None:
    with translation.override("ja"), pytest.raises(ImageRejectedError) as caught:
        process(picture(400, 400, fmt="BMP"))
    assert str(caught.value).startswith("BMP 形式の画像は使えません")
