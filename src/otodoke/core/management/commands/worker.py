from typing import Any

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Run a background worker (Django tasks, database backend). Start several, on one or "
        "many machines: each task is claimed by exactly one worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queues", default="*", help="comma-separated queues, * for all")
        parser.add_argument("--interval", type=float, default=0.5, help="idle poll seconds")
        parser.add_argument("--batch", action="store_true", help="exit when the queue is empty")
        parser.add_argument("--max-tasks", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        # Apps with periodic work (the scenario scheduler) make sure it is queued.
        for config in apps.get_app_configs():
            start = getattr(config, "on_worker_start", None)
            if callable(start):
                start()
        worker_args = ["--queue-name", options["queues"], "--interval", str(options["interval"])]
        if options["batch"]:
            worker_args.append("--batch")
        if options["max_tasks"]:
            worker_args += ["--max-tasks", str(options["max_tasks"])]
        worker_args += ["--no-reload", "--no-startup-delay"]
        call_command("db_worker", *worker_args, verbosity=options["verbosity"])
