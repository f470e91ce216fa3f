"""`otodoke campaign …`: thin wrappers over the campaigns services.

`send` (a new campaign from a message file, or an existing one by ID) and `status` follow a
send's progress. `list|create|get|test|schedule|cancel|recipients|clicks` run the REST API's
operations (`otodoke.api.routers.campaigns`) and print its JSON with --json; see
`otodoke.api.commandline` for who the CLI acts as (sending needs the send permission with --as,
and approval stays a staff act in the UI, as for API tokens).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from tqdm import tqdm

from otodoke.api.commandline import (
    CliCaller,
    add_common,
    caller_for,
    fail,
    id_list,
    read_json,
    run,
)
from otodoke.api.errors import ApiError, format_path
from otodoke.api.routers import campaign_schemas as schemas
from otodoke.api.routers import campaigns as api
from otodoke.campaigns import engine, services, staff_recipients
from otodoke.campaigns.models import Campaign, Delivery, DeliveryKind, as_dict
from otodoke.core.commands import OtodokeCommand
from otodoke.workspaces.roles import Permission

FINAL = (*engine.TERMINAL, "paused")


class Command(OtodokeCommand):
    help = gettext_noop(
        "Send a campaign and follow its progress; create, test, schedule, cancel and inspect "
        "campaigns (the REST API's campaign operations)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser(
            "send", help="send an existing campaign (ID), or create one from --message and send it"
        )
        send.add_argument("campaign_id", nargs="?", type=int, help="an existing campaign")
        send.add_argument("--workspace", required=True, help="workspace slug")
        send.add_argument("--as", dest="as_user", help="staff login to act as (needs send)")
        who = send.add_mutually_exclusive_group()
        who.add_argument("--segment", type=int, help="saved segment ID")
        who.add_argument("--definition", type=Path, help="segment definition JSON file")
        who.add_argument("--all-friends", action="store_true")
        send.add_argument("--message", type=Path, help="message objects JSON")
        send.add_argument("--name", default="CLI campaign")
        send.add_argument("--no-track-links", action="store_true")
        send.add_argument("--wait", action="store_true", help="show progress until done")
        send.add_argument(
            "--inline", action="store_true", help="send in this process instead of a worker"
        )
        send.add_argument("--json", action="store_true")
        status = sub.add_parser("status", help="a campaign's delivery progress")
        status.add_argument("campaign_id", type=int)
        status.add_argument("--json", action="store_true")
        self._api_arguments(sub)

    def _api_arguments(self, sub: Any) -> None:
        listing = sub.add_parser("list", help="campaigns, a page at a time")
        add_common(listing)
        listing.add_argument("--cursor", help="next_cursor of the previous page")
        listing.add_argument("--limit", type=int, default=100)
        create = sub.add_parser("create", help="create a draft campaign")
        add_common(create)
        create.add_argument("--name", required=True)
        create.add_argument("--message", required=True, help="message objects JSON ('-': stdin)")
        create.add_argument("--target", help="target JSON as in the API ('-': stdin)")
        create.add_argument("--all-friends", action="store_true")
        for kind in ("segment", "audience"):
            create.add_argument(f"--{kind}", type=int, action="append", default=[])
            create.add_argument(f"--exclude-{kind}", type=int, action="append", default=[])
        create.add_argument("--definition", help="include a segment definition JSON file")
        create.add_argument("--no-track-links", action="store_true")
        create.add_argument("--no-notification", action="store_true")
        for name, text in (
            ("get", "a campaign with its sends and link clicks"),
            ("test", "send to a few chosen contacts first"),
            ("schedule", "send at a given time"),
            ("cancel", "cancel a draft, scheduled or running send"),
            ("resume", "resume a send paused for quota (or stopped), same batches and retry keys"),
            ("recipients", "per-recipient results"),
            ("clicks", "clicks on the campaign's tracked links"),
        ):
            p = sub.add_parser(name, help=text)
            add_common(p)
            p.add_argument("campaign_id", type=int)
        sub.choices["test"].add_argument(
            "--contacts",
            type=id_list,
            help="contact IDs: 1,2,3 (up to 20); default: the workspace's saved test recipients",
        )
        sub.choices["test"].add_argument(
            "--inline", action="store_true", help="send in this process instead of a worker"
        )
        resume = sub.choices["resume"]
        resume.add_argument(
            "--confirm",
            action="store_true",
            help="also confirm sending only up to this month's limit (LINE's or the plan's free "
            "messages) when not all fit; the rest is recorded as not sent (needs --as a login "
            "with the approve permission; audited)",
        )
        resume.add_argument(
            "--inline", action="store_true", help="send in this process instead of a worker"
        )
        sub.choices["schedule"].add_argument(
            "--at", required=True, help="ISO date-time with an offset, e.g. 2026-12-24T18:00+09:00"
        )
        recipients = sub.choices["recipients"]
        recipients.add_argument(
            "--status",
            choices=["pending", "sent", "failed", "excluded", "unknown", "cancelled", "blocked"],
        )
        recipients.add_argument("--delivery", type=int, help="a test send's delivery ID")
        for name in ("recipients", "clicks"):
            sub.choices[name].add_argument("--cursor", help="next_cursor of the previous page")
            sub.choices[name].add_argument("--limit", type=int, default=100)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "send":
            if options["campaign_id"] is not None:
                self._send_existing(options)
            else:
                self._send(options)
        elif action == "status":
            self._status(options["campaign_id"], as_json=options["json"])
        else:
            getattr(self, f"_api_{action}")(caller_for(options), options)

    def _send(self, options: dict[str, Any]) -> None:
        if options["message"] is None or not (
            options["segment"] or options["definition"] or options["all_friends"]
        ):
            raise CommandError(
                "Give a campaign ID, or --message and one of --segment, --definition, --all-friends"
            )
        caller = caller_for(options)
        try:
            # The operator may send; with --as, that login needs the send permission.
            caller.require(Permission.SEND)
        except ApiError as exc:
            raise CommandError(exc.message) from exc
        # Read and checked exactly as `campaign create` and the API do: unreadable files,
        # NaN, deep nesting, NUL, bad message objects and bad definitions are refused with
        # the file and the path, and nothing is created.
        messages = read_json(self, options, str(options["message"]))
        if isinstance(messages, dict):
            messages = messages.get("messages", [messages])
        if options["segment"]:
            target: dict[str, Any] = {"include": [{"segment": options["segment"]}]}
        elif options["definition"]:
            definition = read_json(self, options, str(options["definition"]))
            target = {"include": [{"definition": definition}]}
        else:
            target = {"all_friends": True}
        payload = {
            "name": options["name"],
            "messages": messages,
            "target": target,
            "track_links": not options["no_track_links"],
        }
        try:
            draft = api.create_draft(caller, schemas.CampaignIn.model_validate(payload))
            campaign = Campaign.objects.get(pk=draft.id)
            delivery = services.send_campaign(campaign, actor=None, actor_label=caller.label)
        except ApiError as exc:
            raise fail(self, options, exc.code, exc.message, exc.details) from exc
        except pydantic.ValidationError as exc:
            details = [(format_path(e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
            raise fail(
                self, options, "validation_error", _("The request is not valid"), details
            ) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if options["inline"]:
            while engine.run_delivery(delivery.pk) == "sending":
                pass
        if options["wait"]:
            self._wait(delivery, quiet=options["json"])
        self._status(campaign.pk, as_json=options["json"])

    def _send_existing(self, options: dict[str, Any]) -> None:
        if options["message"] or options["segment"] or options["definition"]:
            raise CommandError(_("An existing campaign keeps its message and target"))
        if options["all_friends"]:
            raise CommandError(_("An existing campaign keeps its message and target"))
        caller = caller_for(options)
        campaign_id = options["campaign_id"]

        def send() -> schemas.CampaignOut:
            api.start(caller, campaign_id)
            delivery = Delivery.objects.get(campaign_id=campaign_id, kind=DeliveryKind.LIVE)
            if options["inline"]:
                while engine.run_delivery(delivery.pk) == "sending":
                    pass
            if options["wait"]:
                self._wait(delivery, quiet=options["json"])
            return api.read(caller, campaign_id)

        # Prints what the API answers (after --wait, the final state); a refusal (approval
        # required, already sent…) prints as the API's error with --json.
        run(self, options, send, _campaign_lines)

    def _wait(self, delivery: Delivery, *, quiet: bool) -> None:
        with tqdm(total=100.0, unit="%", disable=quiet, bar_format="{l_bar}{bar}| {n:.1f}%") as bar:
            while True:
                delivery.refresh_from_db()
                bar.n = delivery.progress
                planning = "" if delivery.planning is None else f"{delivery.planning}%"
                bar.set_postfix(status=delivery.status, sent=delivery.sent, planning=planning)
                bar.refresh()
                if delivery.status in FINAL:
                    return
                time.sleep(0.5)

    def _status(self, campaign_id: int, *, as_json: bool) -> None:
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(_("No campaign %(id)s") % {"id": campaign_id})
        delivery = Delivery.objects.filter(campaign=campaign, kind=DeliveryKind.LIVE).first()
        data = {
            "campaign": campaign.pk,
            "name": campaign.name,
            "status": campaign.status,
            "reason": campaign.status_reason,
            **({"delivery": as_dict(delivery)} if delivery else {}),
        }
        if as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        self.stdout.write(f"campaign {campaign.pk} “{campaign.name}”: {campaign.status}")
        if campaign.status_reason:
            self.stdout.write(f"  {campaign.status_reason}")
        if delivery:
            self.stdout.write(
                f"  {delivery.progress}% · sent {delivery.sent} · failed {delivery.failed} · "
                f"unknown {delivery.unknown} · blocked during the send {delivery.blocked} · "
                f"excluded {delivery.excluded} of {delivery.total} ({delivery.method or '-'})"
                + ("" if delivery.planning is None else f" · planning {delivery.planning}%")
            )

    # --- the REST API's operations -----------------------------------------------------------

    def _api_list(self, caller: CliCaller, options: dict[str, Any]) -> None:
        params = schemas.PageParams.model_validate(
            {"cursor": options["cursor"], "limit": options["limit"]}
        )
        run(self, options, lambda: api.campaign_page(caller, params), _page_lines)

    def _api_create(self, caller: CliCaller, options: dict[str, Any]) -> None:
        messages = read_json(self, options, options["message"])
        if isinstance(messages, dict):
            messages = messages.get("messages", [messages])
        payload = {
            "name": options["name"],
            "messages": messages,
            "target": self._target(options),
            "track_links": not options["no_track_links"],
            "notification_disabled": options["no_notification"],
        }
        run(
            self,
            options,
            lambda: api.create_draft(caller, schemas.CampaignIn.model_validate(payload)),
            _campaign_lines,
        )

    def _target(self, options: dict[str, Any]) -> Any:
        if options["target"]:
            return read_json(self, options, options["target"])
        include: list[dict[str, Any]] = [{"segment": s} for s in options["segment"]]
        include += [{"audience": a} for a in options["audience"]]
        if options["definition"]:
            include.append({"definition": read_json(self, options, options["definition"])})
        exclude = [{"segment": s} for s in options["exclude_segment"]]
        exclude += [{"audience": a} for a in options["exclude_audience"]]
        if not include and not options["all_friends"]:
            raise fail(
                self,
                options,
                "validation_error",
                "Give --target, --all-friends, or at least one --segment, --audience or "
                "--definition",
                [("target", "no recipients")],
            )
        return {"all_friends": options["all_friends"], "include": include, "exclude": exclude}

    def _api_get(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.read(caller, options["campaign_id"]), _campaign_lines)

    def _api_test(self, caller: CliCaller, options: dict[str, Any]) -> None:
        contact_ids = options["contacts"]
        if not contact_ids:
            # The same default as the campaign page: the saved test recipients, never anyone.
            contact_ids = [c.pk for c in staff_recipients.saved(caller.workspace)]
            if not contact_ids:
                raise CommandError(
                    _(
                        "No test recipients are saved for this workspace: pass --contacts, or "
                        "add your own LINE account in a campaign's test-send card."
                    )
                )
        payload = schemas.TestSendIn.model_validate({"contact_ids": contact_ids})

        def test_send() -> schemas.DeliveryOut:
            delivery = api.send_to_testers(caller, options["campaign_id"], payload)
            if not options["inline"]:
                return delivery
            while engine.run_delivery(delivery.id) == "sending":
                pass
            return schemas.delivery_out(Delivery.objects.get(pk=delivery.id))

        run(
            self,
            options,
            test_send,
            lambda d: [f"test send {d.id}: {d.status}, sent {d.sent} of {d.total}"],
        )

    def _api_schedule(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(
            self,
            options,
            lambda: api.schedule_send(
                caller, options["campaign_id"], schemas.ScheduleIn.model_validate(options)
            ),
            _campaign_lines,
        )

    def _api_cancel(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.stop(caller, options["campaign_id"]), _campaign_lines)

    def _api_resume(self, caller: CliCaller, options: dict[str, Any]) -> None:
        campaign_id = options["campaign_id"]
        if options["confirm"] and caller.user is None:
            raise fail(
                self,
                options,
                "forbidden",
                _("Confirming a send's quota and cost is a person's act: add --as LOGIN"),
            )

        def resume() -> schemas.CampaignOut:
            if options["confirm"]:
                assert caller.user is not None
                caller.require(Permission.APPROVE)
            confirm_as = caller.user if options["confirm"] else None
            api.carry_on(caller, campaign_id, confirm_as=confirm_as)
            if options["inline"]:
                delivery = Delivery.objects.get(campaign_id=campaign_id, kind=DeliveryKind.LIVE)
                while engine.run_delivery(delivery.pk) == "sending":
                    pass
            return api.read(caller, campaign_id)

        run(self, options, resume, _campaign_lines)

    def _api_recipients(self, caller: CliCaller, options: dict[str, Any]) -> None:
        query = {
            "delivery_id": options["delivery"],
            "status": options["status"],
            "cursor": options["cursor"],
            "limit": options["limit"],
        }
        run(
            self,
            options,
            lambda: api.recipient_page(
                caller,
                options["campaign_id"],
                schemas.RecipientFilters.model_validate(
                    {k: v for k, v in query.items() if v is not None}
                ),
            ),
            _recipient_lines,
        )

    def _api_clicks(self, caller: CliCaller, options: dict[str, Any]) -> None:
        params = schemas.PageParams.model_validate(
            {"cursor": options["cursor"], "limit": options["limit"]}
        )
        run(
            self,
            options,
            lambda: api.click_page(caller, options["campaign_id"], params),
            _click_lines,
        )


def _campaign_lines(campaign: schemas.CampaignOut) -> Iterator[str]:
    yield f"campaign {campaign.id} “{campaign.name}”: {campaign.status}"
    if campaign.status_reason:
        yield f"  {campaign.status_reason}"
    if campaign.scheduled_at:
        yield "  " + _("scheduled at %(time)s") % {"time": campaign.scheduled_at.isoformat()}
    if campaign.needs_approval:
        yield "  needs approval by a staff member in Otodoke before it is sent"
    live = campaign.live
    if live:
        yield (
            f"  {live.progress}% · sent {live.sent} · failed {live.failed} · unknown "
            f"{live.unknown} · blocked during the send {live.blocked} · excluded {live.excluded}"
            f" of {live.total} ({live.method or '-'})"
            + ("" if live.planning is None else f" · planning {live.planning}%")
        )


def _page_lines(found: schemas.CampaignPage) -> Iterator[str]:
    for c in found.items:
        yield f"{c.id:>6} {c.status:<10} {c.name}"
    if found.next_cursor:
        yield _("more: --cursor %(cursor)s") % {"cursor": found.next_cursor}


def _recipient_lines(found: schemas.RecipientPage) -> Iterator[str]:
    for r in found.items:
        yield f"{r.contact_id:>8} {r.status:<10} {r.reason}"
    if found.next_cursor:
        yield _("more: --cursor %(cursor)s") % {"cursor": found.next_cursor}


def _click_lines(found: schemas.ClickPage) -> Iterator[str]:
    for c in found.items:
        yield f"{c.clicked_at.isoformat()} {c.contact_id or '-':>8} {c.url}"
    if found.next_cursor:
        yield _("more: --cursor %(cursor)s") % {"cursor": found.next_cursor}
