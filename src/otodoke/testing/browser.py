"""Helpers for the Playwright browser tests."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def htmx_settled(page: Page) -> None:
    """Wait until htmx has nothing in flight and has finished swapping and settling.

    A control changed while freshly swapped-in content is still settling can fire its change
    event before htmx listens on the new content, and the change is lost: the segment builder's
    count then never follows. A person cannot act within those milliseconds; a test can.
    """
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
