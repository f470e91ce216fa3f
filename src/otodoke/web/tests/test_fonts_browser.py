"""The browser tests see pages as users do: Chromium has a Japanese font and a colour emoji
font (scripts/ensure-browser installs both), so a preview with 🎉 is not judged on empty boxes.
A module of its own: Playwright's event loop lives for one test module."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_emoji_and_japanese_render_with_real_glyphs(new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.set_content("<p>🎉 新メニューのお知らせ</p>")
    # A glyph no installed font has is drawn as the same .notdef box whatever it is; two
    # different emoji drawn alike would mean there is no emoji font.
    widths = page.evaluate(
        """() => {
          const ctx = document.createElement("canvas").getContext("2d");
          ctx.font = "32px sans-serif";
          const draw = (text) => {
            ctx.clearRect(0, 0, 64, 64);
            ctx.fillText(text, 0, 40);
            const data = ctx.getImageData(0, 0, 64, 64).data;
            let coloured = 0;
            for (let i = 0; i < data.length; i += 4) {
              const [r, g, b, a] = data.slice(i, i + 4);
              if (a && (r !== g || g !== b)) coloured++;
            }
            return coloured;
          };
          return {party: draw("🎉"), sparkles: draw("✨"), kanji: ctx.measureText("新").width};
        }"""
    )
    assert widths["party"] > 50, "no colour emoji font: run scripts/ensure-browser"
    assert widths["sparkles"] > 50
    assert widths["kanji"] > 20, "no Japanese font: run scripts/ensure-browser"
