import sys
from typing import Any

from django.apps import apps
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from otodoke.core import lanes
from otodoke.core.commands import OtodokeCommand


class Command(OtodokeCommand):
    help = gettext_noop(
        "Run a background worker (Django tasks, database backend). By default it runs one lane "
        "per queue (default, sends, webhooks, automation), so a long send never holds up "
        "webhook events. Start several, on one or many machines: each task is claimed by "
        "exactly one worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queues",
            default="",
            help=gettext_noop(
                "comma-separated queues, one lane each (default: every queue); * for a single "
                "lane over all queues, one task at a time"
            ),
        )
        parser.add_argument(
            "--threads", type=int, default=1, help=gettext_noop("workers per lane in this process")
        )
        parser.add_argument(
            "--interval", type=float, default=0.5, help=gettext_noop("idle poll seconds")
        )
        parser.add_argument(
            "--batch", action="store_true", help=gettext_noop("exit when the queue is empty")
        )
        parser.add_argument(
            "--max-tasks", type=int, default=None, help=gettext_noop("per lane, then exit")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Apps with periodic work (the scenario scheduler) make sure it is queued.
        for config in apps.get_app_configs():
            start = getattr(config, "on_worker_start", None)
            if callable(start):
                start()
        if options["threads"] < 1:
            raise CommandError(_("--threads must be 1 or more."))
        try:
            specs = lanes.parse_lanes(options["queues"], threads=options["threads"])
        except ValueError as exc:
            raise CommandError(
                _("Unknown queue: %(names)s. The queues are: %(known)s.")
                % {"names": exc, "known": ", ".join(lanes.queues())}
            ) from exc
        # db_worker's own log setup: "Starting worker …" and each task's start and end.
        DbWorkerCommand().configure_logging(options["verbosity"])
        code = lanes.run_lanes(
            specs,
            interval=options["interval"],
            batch=options["batch"],
            max_tasks=options["max_tasks"] or None,
        )
        if code:
            sys.exit(code)
