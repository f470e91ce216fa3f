from pathlib import Path
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandParser
from django.utils.translation import gettext_noop

from otodoke.core.commands import OtodokeCommand


class Command(OtodokeCommand):
    help = gettext_noop("Serve the web app (UI, API, LINE webhook, click redirector) with uvicorn.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="web processes (default 1)")
        parser.add_argument(
            "--migrate", action="store_true", help="apply database migrations first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Static files are served from the installed apps (WhiteNoise finders) until
        # `collectstatic` fills STATIC_ROOT; the folder must exist either way.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        if options["migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        uvicorn.run(
            "otodoke.asgi:application",
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            log_level="info" if options["verbosity"] > 1 else "warning",
            lifespan="off",
            **proxy_options(settings.TRUSTED_PROXIES),
        )


def proxy_options(trusted_proxies: list[str]) -> dict[str, Any]:
    """uvicorn believes X-Forwarded-For/-Proto from 127.0.0.1 (or $FORWARDED_ALLOW_IPS) unless
    told otherwise, so anything on this machine could pick its own client IP. Only the
    configured OTODOKE_TRUSTED_PROXIES are believed; with none, proxy headers are ignored."""
    if not trusted_proxies:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(trusted_proxies)}
