"""Rich menus and their per-segment rules: create (image as base64), tap areas, publish to LINE,
the account default, rules, a sync, and which menu a contact sees, through
`otodoke.richmenus.services` (the same rules as the UI and the CLI)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field, StringConstraints

from otodoke.api.auth import Caller, principal
from otodoke.api.errors import COMMON_ERRORS, ApiError
from otodoke.contacts.models import Contact
from otodoke.richmenus import services, sync
from otodoke.richmenus.areas import AreasError
from otodoke.richmenus.images import ImageError
from otodoke.richmenus.models import RichMenu, RichMenuRule
from otodoke.segments.models import Segment
from otodoke.workspaces.roles import Permission

router = Router()

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Alias = Annotated[str, StringConstraints(pattern=r"^([a-z0-9_-]{1,32})?$")]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class AreaIn(Schema):
    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    type: Literal["uri", "postback", "message", "datetimepicker", "richmenuswitch"]
    value: str = Field(
        default="",
        max_length=1000,
        description="URL (uri), postback data (postback, datetimepicker) or the text sent "
        "(message); optional postback data for richmenuswitch",
    )
    label: str = Field(default="", max_length=20)
    mode: Literal["date", "time", "datetime"] = "date"
    target: int | None = Field(default=None, description="richmenuswitch: the menu to show")


class MenuIn(Schema):
    name: Name
    chat_bar_text: Annotated[str, StringConstraints(min_length=1, max_length=14)]
    width: int = 2500
    height: int = 1686
    image_base64: str | None = Field(
        default=None, description="The JPEG or PNG image (≤ 1 MB, exactly width×height), base64"
    )
    selected: bool = False
    alias: Alias = ""
    areas: list[AreaIn] = Field(default_factory=list, max_length=20)


class AreasIn(Schema):
    areas: list[AreaIn] = Field(max_length=20)


class MenuOut(Schema):
    id: int
    name: str
    chat_bar_text: str
    width: int
    height: int
    has_image: bool
    selected: bool
    alias: str
    areas: list[dict[str, Any]]
    line_rich_menu_id: str | None
    published_at: datetime | None
    changed_since_publish: bool
    is_default: bool


class RuleIn(Schema):
    name: Name
    segment_id: Id
    menu_id: Id
    priority: int = Field(default=100, ge=0, le=1_000_000)
    active: bool = True


class RulePatch(Schema):
    name: Name | None = None
    segment_id: Id | None = None
    menu_id: Id | None = None
    priority: int | None = Field(default=None, ge=0, le=1_000_000)
    active: bool | None = None


class RuleOut(Schema):
    id: int
    name: str
    segment_id: int
    menu_id: int
    priority: int
    active: bool


class SyncOut(Schema):
    entered: int
    left: int
    changed: int
    planned_chunks: int
    calls: int
    linked: int
    unlinked: int
    failed_chunks: int
    full_refreshes: int
    errors: list[str]


class ContactMenuOut(Schema):
    contact_id: int
    menu_id: int | None
    menu_name: str | None
    rule_id: int | None
    reason: str
    in_sync: bool


def menu_out(menu: RichMenu) -> MenuOut:
    return MenuOut(
        id=menu.pk,
        name=menu.name,
        chat_bar_text=menu.chat_bar_text,
        width=menu.width,
        height=menu.height,
        has_image=bool(menu.image),
        selected=menu.selected,
        alias=menu.alias,
        areas=menu.areas,
        line_rich_menu_id=menu.line_rich_menu_id or None,
        published_at=menu.published_at,
        changed_since_publish=menu.changed_since_publish,
        is_default=menu.is_default,
    )


def rule_out(rule: RichMenuRule) -> RuleOut:
    return RuleOut(
        id=rule.pk,
        name=rule.name,
        segment_id=rule.segment_id,
        menu_id=rule.menu_id,
        priority=rule.priority,
        active=rule.active,
    )


def _menu_error(exc: services.MenuError | ImageError) -> ApiError:
    field = exc.field if isinstance(exc, services.MenuError) else "image_base64"
    return ApiError(422, str(exc), code="invalid_richmenu", details=[(field or "menu", str(exc))])


def _areas_error(exc: AreasError) -> ApiError:
    details = [
        (f"areas[{p.index}].{p.field}" if p.index >= 0 else "areas", p.message)
        for p in exc.problems
    ]
    return ApiError(422, _("The tap areas are not valid"), code="invalid_areas", details=details)


def _decode(data: str | None) -> bytes | None:
    if data is None:
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(
            422, _("The image is not valid base64"), details=[("image_base64", str(exc))]
        ) from exc


def _get_menu(caller: Caller, menu_id: int) -> RichMenu:
    return RichMenu.objects.get(workspace=caller.workspace, pk=menu_id)


@router.get("", response={200: list[MenuOut], **COMMON_ERRORS}, summary="List rich menus")
def list_menus(request: HttpRequest) -> list[MenuOut]:
    return menus(principal(request))


def menus(caller: Caller) -> list[MenuOut]:
    caller.require(Permission.VIEW)
    return [menu_out(m) for m in RichMenu.objects.filter(workspace=caller.workspace)]


@router.post(
    "",
    response={201: MenuOut, **COMMON_ERRORS},
    summary="Create a rich menu (a draft)",
    description="LINE's rules are checked first: size (width 800–2500, height ≥ 250, "
    "width/height ≥ 1.45), image JPEG/PNG ≤ 1 MB of exactly that size, ≤ 20 areas inside "
    "the image, chat bar text ≤ 14 characters.",
)
def create_menu(request: HttpRequest, payload: MenuIn) -> Status[MenuOut]:
    return Status(201, create(principal(request), payload))


def create(caller: Caller, payload: MenuIn) -> MenuOut:
    caller.require(Permission.EDIT)
    image = _decode(payload.image_base64)
    try:
        with transaction.atomic():
            menu = services.create_menu(
                caller.workspace,
                name=payload.name,
                chat_bar_text=payload.chat_bar_text,
                width=payload.width,
                height=payload.height,
                image=image,
                selected=payload.selected,
                alias=payload.alias,
            )
            if payload.areas:
                services.save_areas(menu, [a.model_dump() for a in payload.areas])
    except (services.MenuError, ImageError) as exc:
        raise _menu_error(exc) from exc
    except AreasError as exc:
        raise _areas_error(exc) from exc
    return menu_out(menu)


@router.get("/rules", response={200: list[RuleOut], **COMMON_ERRORS}, summary="List rules")
def list_rules(request: HttpRequest) -> list[RuleOut]:
    return rules(principal(request))


def rules(caller: Caller) -> list[RuleOut]:
    caller.require(Permission.VIEW)
    return [rule_out(r) for r in RichMenuRule.objects.filter(workspace=caller.workspace)]


@router.post(
    "/rules",
    response={201: RuleOut, **COMMON_ERRORS},
    summary="Add a per-segment rule",
    description="Contacts in the segment see the menu; the lowest priority number wins. "
    "Friends are relinked on LINE by the sync (within a minute).",
)
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[RuleOut]:
    return Status(201, add_rule(principal(request), payload))


def add_rule(caller: Caller, payload: RuleIn) -> RuleOut:
    caller.require(Permission.SEND)
    segment = Segment.objects.get(workspace=caller.workspace, pk=payload.segment_id)
    menu = _get_menu(caller, payload.menu_id)
    try:
        rule = services.create_rule(
            caller.workspace,
            name=payload.name,
            segment=segment,
            menu=menu,
            priority=payload.priority,
            active=payload.active,
        )
    except services.MenuError as exc:
        raise _menu_error(exc) from exc
    return rule_out(rule)


@router.patch("/rules/{rule_id}", response={200: RuleOut, **COMMON_ERRORS}, summary="Change a rule")
def patch_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> RuleOut:
    return change_rule(principal(request), rule_id, payload)


def change_rule(caller: Caller, rule_id: int, payload: RulePatch) -> RuleOut:
    caller.require(Permission.SEND)
    rule = RichMenuRule.objects.get(workspace=caller.workspace, pk=rule_id)
    segment = (
        Segment.objects.get(workspace=caller.workspace, pk=payload.segment_id)
        if payload.segment_id
        else None
    )
    menu = _get_menu(caller, payload.menu_id) if payload.menu_id else None
    try:
        services.update_rule(
            rule,
            name=payload.name,
            segment=segment,
            menu=menu,
            priority=payload.priority,
            active=payload.active,
        )
    except services.MenuError as exc:
        raise _menu_error(exc) from exc
    return rule_out(rule)


@router.delete("/rules/{rule_id}", response={204: None, **COMMON_ERRORS}, summary="Delete a rule")
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    remove_rule(principal(request), rule_id)
    return Status(204, None)


def remove_rule(caller: Caller, rule_id: int) -> None:
    caller.require(Permission.SEND)
    services.delete_rule(RichMenuRule.objects.get(workspace=caller.workspace, pk=rule_id))


@router.post(
    "/sync",
    response={200: SyncOut, **COMMON_ERRORS},
    summary="Relink friends now",
    description="Evaluates every rule in full and makes the bulk link/unlink calls "
    "(≤ 500 users each) that bring LINE in line with the rules; a second run makes none.",
)
def run_sync(request: HttpRequest) -> SyncOut:
    return sync_now(principal(request))


def sync_now(caller: Caller) -> SyncOut:
    caller.require(Permission.SEND)
    return SyncOut(**sync.sync(caller.workspace, full=True).as_dict())


@router.get(
    "/contacts/{contact_id}",
    response={200: ContactMenuOut, **COMMON_ERRORS},
    summary="Which menu a contact sees, and why",
)
def contact_menu(request: HttpRequest, contact_id: int) -> ContactMenuOut:
    return seen_by(principal(request), contact_id)


def seen_by(caller: Caller, contact_id: int) -> ContactMenuOut:
    caller.require(Permission.VIEW)
    contact = Contact.objects.get(workspace=caller.workspace, pk=contact_id)
    seen = services.contact_menu(contact)
    return ContactMenuOut(
        contact_id=contact.pk,
        menu_id=seen.menu.pk if seen.menu else None,
        menu_name=seen.menu.name if seen.menu else None,
        rule_id=seen.rule.pk if seen.rule else None,
        reason=str(seen.reason),
        in_sync=seen.in_sync,
    )


@router.get("/{menu_id}", response={200: MenuOut, **COMMON_ERRORS}, summary="One rich menu")
def get_menu(request: HttpRequest, menu_id: int) -> MenuOut:
    return read(principal(request), menu_id)


def read(caller: Caller, menu_id: int) -> MenuOut:
    caller.require(Permission.VIEW)
    return menu_out(_get_menu(caller, menu_id))


@router.put("/{menu_id}/areas", response={200: MenuOut, **COMMON_ERRORS}, summary="Tap areas")
def put_areas(request: HttpRequest, menu_id: int, payload: AreasIn) -> MenuOut:
    return set_areas(principal(request), menu_id, payload)


def set_areas(caller: Caller, menu_id: int, payload: AreasIn) -> MenuOut:
    caller.require(Permission.EDIT)
    menu = _get_menu(caller, menu_id)
    try:
        services.save_areas(menu, [a.model_dump() for a in payload.areas])
    except AreasError as exc:
        raise _areas_error(exc) from exc
    return menu_out(menu)


@router.post(
    "/{menu_id}/publish",
    response={200: MenuOut, **COMMON_ERRORS},
    summary="Publish to LINE",
    description="Creates the menu on LINE (LINE: 100 per hour), uploads the image, points "
    "the alias at it, and makes it LINE's default if it is the account default.",
)
def publish(request: HttpRequest, menu_id: int) -> MenuOut:
    return publish_menu(principal(request), menu_id)


def publish_menu(caller: Caller, menu_id: int) -> MenuOut:
    caller.require(Permission.SEND)
    menu = _get_menu(caller, menu_id)
    try:
        services.publish_menu(menu)
    except services.MenuError as exc:
        raise _menu_error(exc) from exc
    return menu_out(menu)


@router.post(
    "/{menu_id}/default",
    response={200: MenuOut, **COMMON_ERRORS},
    summary="Make it the account's default menu",
)
def make_default(request: HttpRequest, menu_id: int) -> MenuOut:
    return set_default(principal(request), menu_id)


def set_default(caller: Caller, menu_id: int) -> MenuOut:
    caller.require(Permission.SEND)
    menu = _get_menu(caller, menu_id)
    try:
        services.set_default_menu(caller.workspace, menu)
    except services.MenuError as exc:
        raise _menu_error(exc) from exc
    menu.refresh_from_db()
    return menu_out(menu)
