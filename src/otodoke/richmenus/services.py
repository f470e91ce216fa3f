"""The named changes to rich menus and their rules. Views, the API and the CLI call these.

Publishing creates the menu on LINE, uploads its image, points its alias at it and (for the
account default) makes it the default, through `otodoke.line.client.LineClient`. A rule change
re-keys its segment watch (`segments.watches`, owner kind ``richmenu_rule``) and asks the sync
task to relink whoever is affected (`sync`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.contacts.models import Contact
from otodoke.line.client import LineApiError, LineClient
from otodoke.richmenus import areas as area_rules
from otodoke.richmenus.images import check_image, size_problem
from otodoke.richmenus.models import ALIAS_VALIDATOR, RichMenu, RichMenuAssignment, RichMenuRule
from otodoke.segments.models import Segment
from otodoke.segments.watches import drop_watch, ensure_watch
from otodoke.tracking.models import TrackedLink
from otodoke.workspaces.models import Workspace

WATCH_OWNER = "richmenu_rule"
MAX_NAME = 300
MAX_CHAT_BAR = 14

ClientFactory = Callable[[Workspace], LineClient]


class MenuError(ValueError):
    """A change refused: the message says why (LINE's limit, a missing image...)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _client(workspace: Workspace) -> LineClient:
    return LineClient.for_workspace(workspace)


def _check_fields(name: str, chat_bar_text: str, alias: str) -> None:
    if not name.strip():
        raise MenuError(_("Give the menu a name."), "name")
    if len(name) > MAX_NAME:
        raise MenuError(_("The name may have at most 300 characters (LINE's limit)."), "name")
    if not chat_bar_text.strip():
        raise MenuError(_("Give the chat bar text."), "chat_bar_text")
    if len(chat_bar_text) > MAX_CHAT_BAR:
        raise MenuError(
            _("The chat bar text may have at most 14 characters (LINE's limit)."), "chat_bar_text"
        )
    if alias:
        try:
            ALIAS_VALIDATOR(alias)
        except Exception:
            raise MenuError(
                _("Use 1 to 32 lower-case letters, digits, hyphens or underscores (LINE's rule)."),
                "alias",
            ) from None


def _store_image(menu: RichMenu, image: bytes) -> None:
    checked = check_image(image, menu.width, menu.height)
    menu.image.save(f"{uuid.uuid4().hex}.{checked.extension}", ContentFile(checked.data), False)
    menu.image_type = checked.content_type


def create_menu(
    workspace: Workspace,
    *,
    name: str,
    chat_bar_text: str,
    width: int = 2500,
    height: int = 1686,
    image: bytes | None = None,
    selected: bool = False,
    alias: str = "",
) -> RichMenu:
    """A draft menu. Raises MenuError or `images.ImageError` (LINE's rules); nothing stored."""
    _check_fields(name, chat_bar_text, alias)
    problem = size_problem(width, height)
    if problem:
        raise MenuError(problem, "size")
    if alias and RichMenu.objects.filter(workspace=workspace, alias=alias).exists():
        raise MenuError(_("Another menu already uses this alias."), "alias")
    menu = RichMenu(
        workspace=workspace,
        name=name.strip(),
        chat_bar_text=chat_bar_text.strip(),
        width=width,
        height=height,
        selected=selected,
        alias=alias,
    )
    if image is not None:
        _store_image(menu, image)
    menu.save()
    return menu


def update_menu(
    menu: RichMenu,
    *,
    name: str | None = None,
    chat_bar_text: str | None = None,
    image: bytes | None = None,
    selected: bool | None = None,
    alias: str | None = None,
) -> RichMenu:
    """Change a menu; LINE keeps showing the published version until it is published again."""
    new_alias = menu.alias if alias is None else alias
    _check_fields(name or menu.name, chat_bar_text or menu.chat_bar_text, new_alias)
    if new_alias != menu.alias and menu.alias_on_line:
        raise MenuError(_("A published menu keeps its alias (tabs point at it)."), "alias")
    if (
        new_alias
        and RichMenu.objects.filter(workspace=menu.workspace, alias=new_alias)
        .exclude(pk=menu.pk)
        .exists()
    ):
        raise MenuError(_("Another menu already uses this alias."), "alias")
    if image is not None:
        _store_image(menu, image)
    if name is not None:
        menu.name = name.strip()
    if chat_bar_text is not None:
        menu.chat_bar_text = chat_bar_text.strip()
    if selected is not None:
        menu.selected = selected
    menu.alias = new_alias
    menu.changed_since_publish = menu.published
    menu.save()
    return menu


def save_areas(menu: RichMenu, rows: list[dict[str, Any]]) -> RichMenu:
    """Replace the tap areas; raises `areas.AreasError` naming each bad row (nothing saved)."""
    others = set(
        RichMenu.objects.filter(workspace=menu.workspace)
        .exclude(pk=menu.pk)
        .values_list("pk", flat=True)
    )
    menu.areas = area_rules.clean_areas(rows, menu.width, menu.height, others)
    menu.changed_since_publish = menu.published
    menu.save(update_fields=["areas", "changed_since_publish", "updated_at"])
    return menu


def tracked_url(link: TrackedLink) -> str:
    """A rich-menu link: the same menu goes to everyone, so the click is counted per link
    (contact unknown), by the `/r/m/<token>` redirector."""
    return f"{settings.PUBLIC_BASE_URL}/r/m/{link.token}"


def line_object(menu: RichMenu, *, track: bool = True) -> dict[str, Any]:
    """The LINE rich-menu object of the menu; `track` turns its URLs into tracked links."""
    targets = {
        m.pk: m
        for m in RichMenu.objects.filter(
            workspace=menu.workspace, pk__in=[a.get("target") for a in menu.areas]
        )
    }
    out = []
    for index, area in enumerate(menu.areas):
        uri = alias = None
        if area["type"] == "uri" and track and area["value"].startswith(("http://", "https://")):
            link, _created = TrackedLink.objects.get_or_create(
                workspace=menu.workspace, campaign_id=None, url=area["value"]
            )
            uri = tracked_url(link)
        if area["type"] == "richmenuswitch":
            target = targets.get(area.get("target"))
            if target is None or not target.alias:
                raise MenuError(
                    _("Area %(n)s switches to a menu without an alias: give that menu an alias.")
                    % {"n": index + 1}
                )
            alias = target.alias
        out.append(
            {
                "bounds": area_rules.bounds(area),
                "action": area_rules.line_action(area, uri=uri, alias=alias),
            }
        )
    return {
        "size": {"width": menu.width, "height": menu.height},
        "selected": menu.selected,
        "name": menu.name,
        "chatBarText": menu.chat_bar_text,
        "areas": out,
    }


def _line_error(exc: LineApiError) -> MenuError:
    return MenuError(_("LINE refused the menu: %(reason)s") % {"reason": exc.describe()})


def publish_menu(menu: RichMenu, *, client_for: ClientFactory = _client) -> RichMenu:
    """Create the menu on LINE with its image, point its alias at it, and (if it is the
    account default) make it LINE's default. The friends it is linked to move to the new
    LINE menu at the next sync."""
    if not menu.image:
        raise MenuError(_("Upload the menu's image first."), "image")
    for area in menu.areas:
        if area["type"] == "richmenuswitch":
            target = RichMenu.objects.filter(pk=area.get("target")).first()
            if target is None or not target.alias_on_line:
                raise MenuError(
                    _("Publish the menu “%(name)s” (with its alias) before the tab that opens it.")
                    % {"name": target.name if target else "?"}
                )
    body = line_object(menu)
    with menu.image.open("rb") as handle:
        image = handle.read()
    with client_for(menu.workspace) as client:
        try:
            line_id = client.create_rich_menu(body)
        except LineApiError as exc:
            raise _line_error(exc) from exc
        try:
            client.upload_rich_menu_image(line_id, image, menu.image_type or "image/png")
            if menu.alias:
                if menu.alias_on_line:
                    client.update_rich_menu_alias(menu.alias, line_id)
                else:
                    client.create_rich_menu_alias(menu.alias, line_id)
            if menu.is_default:
                client.set_default_rich_menu(line_id)
        except LineApiError as exc:
            # The half-made menu would count against LINE's 1,000; best effort to remove it.
            with contextlib.suppress(LineApiError):
                client.delete_rich_menu(line_id)
            raise _line_error(exc) from exc
    menu.line_rich_menu_id = line_id
    menu.alias_on_line = bool(menu.alias)
    menu.published_at = timezone.now()
    menu.changed_since_publish = False
    menu.save()
    _kick(menu.workspace, full=True)
    return menu


def set_default_menu(
    workspace: Workspace, menu: RichMenu | None, *, client_for: ClientFactory = _client
) -> None:
    """Make `menu` (published) the account's default on LINE; None cancels the default."""
    if menu is not None and not menu.published:
        raise MenuError(_("Publish the menu before making it the default."))
    with client_for(workspace) as client:
        try:
            if menu is None:
                client.cancel_default_rich_menu()
            else:
                client.set_default_rich_menu(menu.line_rich_menu_id)
        except LineApiError as exc:
            raise _line_error(exc) from exc
    with transaction.atomic():
        RichMenu.objects.filter(workspace=workspace, is_default=True).update(is_default=False)
        if menu is not None:
            RichMenu.objects.filter(pk=menu.pk).update(is_default=True)


# --- rules --------------------------------------------------------------------------------------


def _watched(segment: Segment) -> dict[str, Any]:
    return {"version": 1, "where": {"kind": "in_segment", "segment_id": segment.pk}}


def _check_rule(workspace: Workspace, name: str, segment: Segment, menu: RichMenu) -> None:
    if not name.strip():
        raise MenuError(_("Give the rule a name."), "name")
    if segment.workspace_id != workspace.pk or menu.workspace_id != workspace.pk:
        raise MenuError(_("The segment and the menu must belong to this account."))


def create_rule(
    workspace: Workspace,
    *,
    name: str,
    segment: Segment,
    menu: RichMenu,
    priority: int = 100,
    active: bool = True,
) -> RichMenuRule:
    """ "Contacts in `segment` see `menu`". Its watch is evaluated in full at the next sync;
    whoever is in the segment then is linked (not a baseline: they should see it now)."""
    _check_rule(workspace, name, segment, menu)
    with transaction.atomic():
        rule = RichMenuRule.objects.create(
            workspace=workspace,
            name=name.strip(),
            segment=segment,
            menu=menu,
            priority=priority,
            active=active,
        )
        ensure_watch(workspace, WATCH_OWNER, rule.pk, _watched(segment), baseline=False)
    _kick(workspace, full=True)
    return rule


def update_rule(
    rule: RichMenuRule,
    *,
    name: str | None = None,
    segment: Segment | None = None,
    menu: RichMenu | None = None,
    priority: int | None = None,
    active: bool | None = None,
) -> RichMenuRule:
    new_segment = segment or rule.segment
    _check_rule(rule.workspace, name or rule.name, new_segment, menu or rule.menu)
    with transaction.atomic():
        if name is not None:
            rule.name = name.strip()
        rule.segment = new_segment
        if menu is not None:
            rule.menu = menu
        if priority is not None:
            rule.priority = priority
        if active is not None:
            rule.active = active
        rule.save()
        ensure_watch(rule.workspace, WATCH_OWNER, rule.pk, _watched(new_segment), baseline=False)
    _kick(rule.workspace, full=True)
    return rule


def delete_rule(rule: RichMenuRule) -> None:
    workspace = rule.workspace
    with transaction.atomic():
        RichMenuAssignment.objects.filter(rule=rule).update(rule=None)
        drop_watch(WATCH_OWNER, rule.pk)
        rule.delete()
    _kick(workspace, full=True)


def _kick(workspace: Workspace, *, full: bool) -> None:
    from otodoke.richmenus.tasks import kick

    kick(workspace.pk, full=full)


# --- what a contact sees ------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactMenu:
    menu: RichMenu | None
    rule: RichMenuRule | None
    # The per-user link LINE has matches what the rules want (False: the sync is on its way).
    in_sync: bool

    @property
    def reason(self) -> str:
        if self.rule is not None:
            return _("rule “%(name)s”") % {"name": self.rule.name}
        if self.menu is not None:
            return _("the account's default menu")
        return _("no menu (no rule matches and there is no default)")


def contact_menu(contact: Contact) -> ContactMenu:
    """Which menu the contact sees and why: the rule's (as last synced) or the default."""
    assignment = (
        RichMenuAssignment.objects.filter(contact=contact)
        .select_related("rule", "rule__menu")
        .first()
    )
    default = RichMenu.objects.filter(workspace_id=contact.workspace_id, is_default=True).first()
    if assignment is not None and assignment.rule is not None:
        return ContactMenu(
            assignment.rule.menu,
            assignment.rule,
            assignment.applied_line_id == assignment.desired_line_id,
        )
    applied = "" if assignment is None else assignment.applied_line_id
    return ContactMenu(default, None, applied == "")
