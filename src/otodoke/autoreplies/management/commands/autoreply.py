"""`otodoke autoreply list|get|create|update|enable|disable|delete|order|test|replies` run
the REST API's auto-reply operations (`otodoke.api.routers.autoreplies`) and print its JSON
with --json. Rules are made from flags (no JSON needed) or from a JSON file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.api.commandline import CliCaller, add_common, caller_for, fail, read_json, run
from otodoke.api.routers import autoreplies as api
from otodoke.core.commands import OtodokeCommand


def _days(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]


def _rule_flags(parser: CommandParser) -> None:
    parser.add_argument("--name")
    parser.add_argument("--keyword", action="append", help=_("a keyword (repeat for several)"))
    parser.add_argument("--match", choices=["exact", "contains"])
    parser.add_argument(
        "--text", action="append", help=_("a text message of the reply (repeat, up to 5)")
    )
    parser.add_argument("--postback-key")
    parser.add_argument("--postback-value")
    parser.add_argument("--tag", help=_("a tag to add when the rule answers"))
    parser.add_argument("--scenario", type=int, help=_("a scenario ID to start"))
    parser.add_argument("--days", type=_days, help=_("open weekdays, e.g. 0,1,2,3,4 (0 = Mon)"))
    parser.add_argument("--opens", help=_("opening time, e.g. 10:00"))
    parser.add_argument("--closes", help=_("closing time, e.g. 19:00"))
    parser.add_argument(
        "--invite",
        action="store_true",
        default=None,
        help=_("welcome: add the link invitation for friends who are not linked"),
    )


def _from_flags(options: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    pairs = (
        ("name", "name"),
        ("keyword", "keywords"),
        ("match", "match_type"),
        ("postback_key", "postback_key"),
        ("postback_value", "postback_value"),
        ("tag", "add_tag"),
        ("scenario", "scenario_id"),
        ("days", "open_days"),
        ("opens", "opens_at"),
        ("closes", "closes_at"),
        ("invite", "invite_unlinked"),
    )
    for option, field in pairs:
        if options.get(option) is not None:
            data[field] = options[option]
    if options.get("text"):
        data["messages"] = [{"type": "text", "text": t} for t in options["text"]]
    return data


class Command(OtodokeCommand):
    help = gettext_noop(
        "Auto-replies: list the rules in priority order, get, create (from flags or a JSON "
        "file), update, enable, disable, delete, order, test which rule answers a message, and "
        "the recent answers. Replies go by reply token, which costs no quota."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add_common(sub.add_parser("list", help=_("the rules, in priority order")))
        create = sub.add_parser("create", help=_("a new rule (placed last)"))
        add_common(create)
        create.add_argument("--kind", choices=["welcome", "keyword", "postback", "away"])
        create.add_argument("--file", help=_("the rule as a JSON object ('-': stdin)"))
        _rule_flags(create)
        for name, text in (
            ("get", _("one rule")),
            ("update", _("change a rule")),
            ("enable", _("turn a rule on")),
            ("disable", _("turn a rule off")),
            ("delete", _("delete a rule")),
        ):
            p = sub.add_parser(name, help=text)
            add_common(p)
            p.add_argument("rule_id", type=int)
        _rule_flags(sub.choices["update"])
        order = sub.add_parser("order", help=_("put these rules first, in this order"))
        add_common(order)
        order.add_argument("ids", type=int, nargs="+")
        test = sub.add_parser("test", help=_("which rule would answer this message"))
        add_common(test)
        test.add_argument("text")
        replies = sub.add_parser("replies", help=_("recent answers, newest first"))
        add_common(replies)
        replies.add_argument("--limit", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(caller_for(options), options)

    def _list(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.rules(caller), _rules_lines)

    def _create(self, caller: CliCaller, options: dict[str, Any]) -> None:
        data: dict[str, Any] = {}
        if options["file"]:
            loaded = read_json(self, options, options["file"])
            if not isinstance(loaded, dict):
                raise fail(self, options, "bad_request", _("The file must hold a JSON object"))
            data.update(loaded)
        data.update(_from_flags(options))
        if options["kind"]:
            data["kind"] = options["kind"]
        run(
            self,
            options,
            lambda: api.create(caller, api.RuleIn.model_validate(data)),
            _rule_lines,
        )

    def _get(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.read(caller, options["rule_id"]), _rule_lines)

    def _update(self, caller: CliCaller, options: dict[str, Any]) -> None:
        patch = api.RulePatch.model_validate(_from_flags(options))
        run(self, options, lambda: api.update(caller, options["rule_id"], patch), _rule_lines)

    def _enable(self, caller: CliCaller, options: dict[str, Any]) -> None:
        patch = api.RulePatch(enabled=True)
        run(self, options, lambda: api.update(caller, options["rule_id"], patch), _rule_lines)

    def _disable(self, caller: CliCaller, options: dict[str, Any]) -> None:
        patch = api.RulePatch(enabled=False)
        run(self, options, lambda: api.update(caller, options["rule_id"], patch), _rule_lines)

    def _delete(self, caller: CliCaller, options: dict[str, Any]) -> None:
        def delete() -> dict[str, Any]:
            api.delete(caller, options["rule_id"])
            return {"deleted": options["rule_id"]}

        run(self, options, delete, lambda r: [_("Deleted rule %(id)s") % {"id": r["deleted"]}])

    def _order(self, caller: CliCaller, options: dict[str, Any]) -> None:
        payload = api.OrderIn(ids=options["ids"])
        run(self, options, lambda: api.order(caller, payload), _rules_lines)

    def _test(self, caller: CliCaller, options: dict[str, Any]) -> None:
        payload = api.TestIn(text=options["text"])
        run(self, options, lambda: api.test(caller, payload), _test_lines)

    def _replies(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.recent(caller, options["limit"]), _reply_lines)


def _rule_lines(r: api.RuleOut) -> Iterator[str]:
    state = "on" if r.enabled else "off"
    when = ""
    if r.kind == "keyword":
        when = f"{r.match_type}: {'、'.join(r.keywords)}"
    elif r.kind == "postback":
        when = r.postback_key + (f"={r.postback_value}" if r.postback_value else "")
    elif r.kind == "away" and r.opens_at and r.closes_at:
        when = f"outside {r.opens_at:%H:%M}–{r.closes_at:%H:%M} days {r.open_days}"
    yield f"{r.position:>3}. #{r.id:<5} {r.name}  [{r.kind}, {state}]  {when}".rstrip()


def _rules_lines(rules: list[api.RuleOut]) -> Iterator[str]:
    for rule in rules:
        yield from _rule_lines(rule)


def _test_lines(t: api.TestOut) -> Iterator[str]:
    yield t.why
    if t.rule:
        yield from _rule_lines(t.rule)


def _reply_lines(rows: list[api.ReplyOut]) -> Iterator[str]:
    for r in rows:
        yield f"{r.created_at:%Y-%m-%d %H:%M}  rule #{r.rule_id}  {r.status}  {r.reason}".rstrip()
