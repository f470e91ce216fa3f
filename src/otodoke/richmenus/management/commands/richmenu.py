"""`otodoke richmenu list|get|create|areas|publish|default|rule …|sync|contact` run the REST
API's rich-menu operations (`otodoke.api.routers.richmenus`) and print its JSON with --json
(see `otodoke.api.commandline` for who the CLI acts as)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.api.commandline import CliCaller, add_common, caller_for, fail, read_json, run
from otodoke.api.routers import richmenus as api
from otodoke.core.commands import OtodokeCommand


class Command(OtodokeCommand):
    help = gettext_noop(
        "Rich menus: list, get, create from an image, set tap areas from a JSON file, publish "
        "to LINE, make the account default; per-segment rules; sync relinks friends now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add_common(sub.add_parser("list", help=_("rich menus and their state")))
        for name, text in (
            ("get", _("one rich menu with its tap areas")),
            ("publish", _("create the menu on LINE with its image and alias")),
            ("default", _("make a published menu the account's default")),
        ):
            p = sub.add_parser(name, help=text)
            add_common(p)
            p.add_argument("menu_id", type=int)
        create = sub.add_parser("create", help=_("a draft menu from a JPEG or PNG image"))
        add_common(create)
        create.add_argument("--name", required=True)
        create.add_argument("--chat-bar-text", required=True, help=_("up to 14 characters"))
        create.add_argument("--size", default="2500x1686", help=_("WIDTHxHEIGHT, e.g. 2500x843"))
        create.add_argument("--image", help=_("the image file (≤ 1 MB, exactly the size)"))
        create.add_argument("--alias", default="", help=_("alias for tabs (a-z 0-9 _ -)"))
        create.add_argument("--areas", help=_("a JSON file with the tap areas ('-': stdin)"))
        areas = sub.add_parser("areas", help=_("replace the tap areas from a JSON file"))
        add_common(areas)
        areas.add_argument("menu_id", type=int)
        areas.add_argument(
            "--file",
            required=True,
            help=_("a JSON list of areas: x, y, width, height, type, value"),
        )
        rule = sub.add_parser("rule", help=_("per-segment rules"))
        rsub = rule.add_subparsers(dest="rule_action", required=True)
        add_common(rsub.add_parser("list", help=_("rules by priority")))
        add = rsub.add_parser("add", help=_("contacts in a segment see a menu"))
        add_common(add)
        add.add_argument("--name", required=True)
        add.add_argument("--segment", type=int, required=True, help=_("segment ID"))
        add.add_argument("--menu", type=int, required=True, help=_("rich menu ID"))
        add.add_argument("--priority", type=int, default=100, help=_("lowest number wins"))
        update = rsub.add_parser("update", help=_("change a rule's priority, menu or state"))
        add_common(update)
        update.add_argument("rule_id", type=int)
        update.add_argument("--priority", type=int)
        update.add_argument("--menu", type=int)
        update.add_argument("--active", choices=["yes", "no"])
        delete = rsub.add_parser("delete", help=_("delete a rule"))
        add_common(delete)
        delete.add_argument("rule_id", type=int)
        add_common(sub.add_parser("sync", help=_("relink friends on LINE now (bulk, ≤ 500)")))
        contact = sub.add_parser("contact", help=_("which menu a contact sees, and why"))
        add_common(contact)
        contact.add_argument("contact_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "rule":
            action = f"rule_{options['rule_action']}"
        getattr(self, f"_{action}")(caller_for(options), options)

    def _list(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.menus(caller), _menus_lines)

    def _get(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.read(caller, options["menu_id"]), _menu_lines)

    def _publish(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.publish_menu(caller, options["menu_id"]), _menu_lines)

    def _default(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.set_default(caller, options["menu_id"]), _menu_lines)

    def _create(self, caller: CliCaller, options: dict[str, Any]) -> None:
        try:
            width, height = (int(n) for n in options["size"].lower().split("x", 1))
        except ValueError:
            raise fail(self, options, "bad_request", _("Give the size as WIDTHxHEIGHT")) from None
        data: dict[str, Any] = {
            "name": options["name"],
            "chat_bar_text": options["chat_bar_text"],
            "width": width,
            "height": height,
            "alias": options["alias"],
        }
        if options["image"]:
            try:
                raw = Path(options["image"]).read_bytes()
            except OSError as exc:
                raise fail(self, options, "bad_request", str(exc)) from exc
            data["image_base64"] = base64.b64encode(raw).decode()
        if options["areas"]:
            data["areas"] = read_json(self, options, options["areas"])
        run(self, options, lambda: api.create(caller, api.MenuIn.model_validate(data)), _menu_lines)

    def _areas(self, caller: CliCaller, options: dict[str, Any]) -> None:
        areas = read_json(self, options, options["file"])
        if isinstance(areas, list):
            areas = {"areas": areas}
        run(
            self,
            options,
            lambda: api.set_areas(caller, options["menu_id"], api.AreasIn.model_validate(areas)),
            _menu_lines,
        )

    def _rule_list(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.rules(caller), lambda rules: map(_rule_line, rules))

    def _rule_add(self, caller: CliCaller, options: dict[str, Any]) -> None:
        payload = {
            "name": options["name"],
            "segment_id": options["segment"],
            "menu_id": options["menu"],
            "priority": options["priority"],
        }
        run(
            self,
            options,
            lambda: api.add_rule(caller, api.RuleIn.model_validate(payload)),
            lambda rule: [_rule_line(rule)],
        )

    def _rule_update(self, caller: CliCaller, options: dict[str, Any]) -> None:
        patch: dict[str, Any] = {"priority": options["priority"], "menu_id": options["menu"]}
        if options["active"]:
            patch["active"] = options["active"] == "yes"
        run(
            self,
            options,
            lambda: api.change_rule(
                caller, options["rule_id"], api.RulePatch.model_validate(patch)
            ),
            lambda rule: [_rule_line(rule)],
        )

    def _rule_delete(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(
            self,
            options,
            lambda: api.remove_rule(caller, options["rule_id"]),
            lambda _none: [_("Rule deleted.")],
        )

    def _sync(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(
            self,
            options,
            lambda: api.sync_now(caller),
            _sync_lines,
        )

    def _contact(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(
            self,
            options,
            lambda: api.seen_by(caller, options["contact_id"]),
            lambda out: [f"{out.menu_name or '-'}: {out.reason}"],
        )


def _sync_lines(out: api.SyncOut) -> list[str]:
    figures = "  ".join(f"{k} {v}" for k, v in out.model_dump().items() if k != "errors")
    return [figures, *out.errors]


def _menus_lines(menus: list[api.MenuOut]) -> Iterator[str]:
    for menu in menus:
        yield from _menu_lines(menu)


def _menu_lines(menu: api.MenuOut) -> Iterator[str]:
    state = _("published") if menu.line_rich_menu_id else _("draft")
    default = f" · {_('account default')}" if menu.is_default else ""
    yield (
        f"{menu.id}\t{menu.name}\t{menu.width}x{menu.height}\t"
        f"{len(menu.areas)} {_('areas')}\t{state}{default}"
    )


def _rule_line(rule: api.RuleOut) -> str:
    active = "" if rule.active else f" ({_('off')})"
    return (
        f"{rule.id}\t{rule.priority}\t{rule.name}{active}\tsegment {rule.segment_id}"
        f" → menu {rule.menu_id}"
    )
