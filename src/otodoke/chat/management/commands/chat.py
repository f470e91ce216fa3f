"""`otodoke chat list|show|reply` run the REST API's conversation operations
(`otodoke.api.routers.conversations`) and print its JSON with --json (see
`otodoke.api.commandline` for who the CLI acts as)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.api.commandline import CliCaller, add_common, caller_for, fail, run
from otodoke.api.routers import conversations as api
from otodoke.core.commands import OtodokeCommand


class Command(OtodokeCommand):
    help = gettext_noop(
        "The 1:1 chat inbox: list conversations, show one's timeline, reply to a friend (by "
        "reply token while valid, else by push, which counts against the monthly quota)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help=_("conversations with unread counts"))
        add_common(listing)
        listing.add_argument("--state", choices=["open", "done", "all"], default="all")
        listing.add_argument("--unread", action="store_true", help=_("only with unread messages"))
        listing.add_argument("--cursor")
        listing.add_argument("--limit", type=int, default=100)
        show = sub.add_parser("show", help=_("one conversation's timeline, oldest first"))
        add_common(show)
        show.add_argument("conversation_id", type=int)
        show.add_argument("--limit", type=int, default=100)
        reply = sub.add_parser("reply", help=_("send a text, a sticker or an image to the friend"))
        add_common(reply)
        target = reply.add_mutually_exclusive_group(required=True)
        target.add_argument("conversation_id", type=int, nargs="?")
        target.add_argument("--contact", type=int, help=_("the contact's ID instead"))
        reply.add_argument("--text")
        reply.add_argument("--sticker", help=_("PACKAGE/STICKER, e.g. 446/1988"))
        reply.add_argument("--saved", type=int, help=_("a saved reply's ID"))
        reply.add_argument(
            "--image", type=Path, help=_("a JPEG or PNG file, hosted and sent as an image")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        caller = caller_for(options)
        getattr(self, f"_{options['action']}")(caller, options)

    def _list(self, caller: CliCaller, options: dict[str, Any]) -> None:
        params = api.ListParams.model_validate(
            {
                "cursor": options["cursor"],
                "limit": options["limit"],
                "state": options["state"],
                "unread": options["unread"],
            }
        )
        run(self, options, lambda: api.conversation_page(caller, params), _page_lines)

    def _show(self, caller: CliCaller, options: dict[str, Any]) -> None:
        params = api.TimelineParams.model_validate({"limit": options["limit"]})
        run(
            self,
            options,
            lambda: api.messages(caller, options["conversation_id"], params),
            _timeline_lines,
        )

    def _reply(self, caller: CliCaller, options: dict[str, Any]) -> None:
        data: dict[str, Any] = {}
        if options["text"] is not None:
            data["text"] = options["text"]
        if options["sticker"]:
            package, _slash, sticker = options["sticker"].partition("/")
            data["sticker"] = {"package_id": package, "sticker_id": sticker}
        if options["saved"]:
            data["saved_reply_id"] = options["saved"]
        image: Path | None = options["image"]
        if len(data) + (image is not None) != 1:
            raise fail(
                self,
                options,
                "bad_request",
                _("Give exactly one of --text, --sticker, --saved, --image"),
            )
        if image is not None:
            try:
                file_data = image.read_bytes()
            except OSError as exc:
                raise fail(self, options, "bad_request", str(exc)) from exc

        def operation() -> api.ReplyOut:
            if image is not None:
                data["image_id"] = api.upload_for_reply(caller, file_data, image.name)
            payload = api.ReplyIn.model_validate(data)
            if options["contact"]:
                return api.contact_reply(caller, options["contact"], payload)
            return api.reply_in(caller, options["conversation_id"], payload)

        run(self, options, operation, _reply_lines)


def _page_lines(page: api.ConversationPage) -> Iterator[str]:
    for c in page.items:
        when = c.last_message_at.strftime("%Y-%m-%d %H:%M") if c.last_message_at else "-"
        unread = f"  unread {c.unread}" if c.unread else ""
        yield f"{c.id:>6}  {c.name}  [{c.state}]  {when}{unread}  {c.last_text[:40]}"
    if page.next_cursor:
        yield f"next: --cursor {page.next_cursor}"


def _timeline_lines(items: list[api.MessageOut]) -> Iterator[str]:
    for m in items:
        when = m.at.strftime("%Y-%m-%d %H:%M")
        if m.direction == "in":
            yield f"{when} ← {m.summary}"
            continue
        via = ", ".join(part for part in (m.source, m.label, m.method) if part)
        yield f"{when} → {m.summary}  ({via})"


def _reply_lines(r: api.ReplyOut) -> Iterator[str]:
    yield f"message {r.id}: {r.state} by {r.method}" + (f" — {r.error}" if r.error else "")
