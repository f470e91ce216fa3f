"""`otodoke campaign send …` and `otodoke campaign status ID`: thin wrappers over services."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from otodoke.campaigns import engine, services
from otodoke.campaigns.models import Campaign, Delivery, DeliveryKind, as_dict
from otodoke.workspaces.models import Workspace

FINAL = ("done", "failed", "cancelled", "paused")


class Command(BaseCommand):
    help = "Send a campaign to a segment, or show a campaign's progress."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser("send", help="create a campaign and send it now")
        send.add_argument("--workspace", required=True, help="workspace slug")
        who = send.add_mutually_exclusive_group(required=True)
        who.add_argument("--segment", type=int, help="saved segment ID")
        who.add_argument("--definition", type=Path, help="segment definition JSON file")
        who.add_argument("--all-friends", action="store_true")
        send.add_argument("--message", type=Path, required=True, help="message objects JSON")
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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "send":
            self._send(options)
        else:
            self._status(options["campaign_id"], as_json=options["json"])

    def _send(self, options: dict[str, Any]) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace {options['workspace']}")
        messages = json.loads(options["message"].read_text(encoding="utf-8"))
        if isinstance(messages, dict):
            messages = messages.get("messages", [messages])
        if options["segment"]:
            target: dict[str, Any] = {"include": [{"segment": options["segment"]}]}
        elif options["definition"]:
            definition = json.loads(options["definition"].read_text(encoding="utf-8"))
            target = {"include": [{"definition": definition}]}
        else:
            target = {"all_friends": True}
        try:
            campaign = services.create_campaign(
                workspace,
                name=options["name"],
                messages=messages,
                target=target,
                actor=None,
                track_links=not options["no_track_links"],
            )
            delivery = services.send_campaign(campaign, actor=None, actor_label="cli")
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if options["inline"]:
            while engine.run_delivery(delivery.pk) == "sending":
                pass
        if options["wait"]:
            self._wait(delivery, quiet=options["json"])
        self._status(campaign.pk, as_json=options["json"])

    def _wait(self, delivery: Delivery, *, quiet: bool) -> None:
        with tqdm(total=100.0, unit="%", disable=quiet, bar_format="{l_bar}{bar}| {n:.1f}%") as bar:
            while True:
                delivery.refresh_from_db()
                bar.n = delivery.progress
                bar.set_postfix(status=delivery.status, sent=delivery.sent)
                bar.refresh()
                if delivery.status in FINAL:
                    return
                time.sleep(0.5)

    def _status(self, campaign_id: int, *, as_json: bool) -> None:
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"No campaign {campaign_id}")
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
                f"unknown {delivery.unknown} · excluded {delivery.excluded} of {delivery.total}"
                f" ({delivery.method or '-'})"
            )
