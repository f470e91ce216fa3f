"""The demo's rich menus: a default menu for every friend and a VIP menu for the VIP segment,
with generated images, a tab between them (aliases) and a rule. Called at every demo start
(`core.demo`): made once, and published again when the emulator forgot them (it keeps
friends and messages across restarts, not rich menus)."""

from __future__ import annotations

from typing import Any

from otodoke.line.client import LineApiError, LineClient
from otodoke.richmenus import services
from otodoke.richmenus.images import generate
from otodoke.richmenus.models import RichMenu, RichMenuRule
from otodoke.segments.models import Segment
from otodoke.workspaces.models import Workspace

WIDTH, HEIGHT = 2500, 843
THIRD = WIDTH // 3


def _areas(shop: str, tab: RichMenu | None, *, coupon: str) -> list[dict[str, Any]]:
    areas: list[dict[str, Any]] = [
        {"x": 0, "y": 0, "width": THIRD, "height": HEIGHT, "type": "uri",
         "value": "https://example.com/reserve", "label": "予約"},
        {"x": THIRD, "y": 0, "width": THIRD, "height": HEIGHT, "type": "postback",
         "value": coupon, "label": "クーポン"},
    ]  # fmt: skip
    last = {"x": 2 * THIRD, "y": 0, "width": WIDTH - 2 * THIRD, "height": HEIGHT}
    if tab is not None:
        areas.append({**last, "type": "richmenuswitch", "target": tab.pk, "label": shop})
    else:
        areas.append(
            {**last, "type": "message", "value": "営業時間を教えてください", "label": shop}
        )
    return areas


def _known_to_line(client: LineClient, menu: RichMenu) -> bool:
    if not menu.line_rich_menu_id:
        return False
    try:
        client.call("GET", f"/v2/bot/richmenu/{menu.line_rich_menu_id}")
    except LineApiError:
        return False
    return True


def _menu(workspace: Workspace, name: str, alias: str, labels: list[str], color: str) -> RichMenu:
    menu = RichMenu.objects.filter(workspace=workspace, alias=alias).first()
    if menu is None:
        menu = services.create_menu(
            workspace,
            name=name,
            chat_bar_text="メニュー",
            width=WIDTH,
            height=HEIGHT,
            image=generate(WIDTH, HEIGHT, labels, color=color),
            alias=alias,
        )
    return menu


def ensure_richmenus(workspace: Workspace) -> list[str]:
    """Make, publish and link the demo's menus; returns what LINE refused (empty: all well)."""
    regular = _menu(
        workspace, "いつものメニュー", "regular", ["Reserve", "Coupon", "VIP"], "#3d6cb9"
    )
    vip = _menu(workspace, "VIP会員メニュー", "vip", ["Reserve", "VIP coupon", "Hours"], "#8a6d1f")
    problems: list[str] = []
    with LineClient.for_workspace(workspace) as client:
        # The VIP menu first: the regular menu's third area is a tab that opens it.
        for menu, tab, coupon in ((vip, None, "coupon:vip"), (regular, vip, "coupon:regular")):
            if not menu.areas:
                services.save_areas(menu, _areas("VIP" if tab else "営業時間", tab, coupon=coupon))
            if _known_to_line(client, menu):
                continue
            menu.alias_on_line = False  # a new emulator has no aliases either
            try:
                services.publish_menu(menu)
            except services.MenuError as exc:
                problems.append(f"{menu.name}: {exc.message}")
    regular.refresh_from_db()
    if regular.published:
        try:
            services.set_default_menu(workspace, regular)
        except services.MenuError as exc:
            problems.append(f"{regular.name}: {exc.message}")
    segment = Segment.objects.filter(workspace=workspace, name="VIP").first()
    has_rule = RichMenuRule.objects.filter(workspace=workspace, menu=vip).exists()
    if segment is not None and vip.published and not has_rule:
        services.create_rule(
            workspace, name="VIP会員にはVIPメニュー", segment=segment, menu=vip, priority=1
        )
    return problems
