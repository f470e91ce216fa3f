import os
import sys
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.core import demo
from otodoke.core.commands import OtodokeCommand


class Command(OtodokeCommand):
    help = gettext_noop(
        "Start the whole product on this machine: the LINE emulator, a sandbox workspace with a "
        "login per role (owner, manager, operator, viewer) and demo customers, the web app and "
        "a worker. Ctrl-C stops everything; the data (and what the emulator's phones received) "
        "stays in the data folder for next time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="web app port (8000)")
        parser.add_argument("--emulator-port", type=int, default=8100, help="emulator port")
        parser.add_argument(
            "--contacts", type=int, default=3000, help="demo customers created on first start"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port, emulator_port = options["port"], options["emulator_port"]
        web_url = f"http://127.0.0.1:{port}"
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        self.stdout.write(_("Preparing the database…"))
        demo.migrate()
        logins = demo.ensure_logins()
        owner = User.objects.get(username=logins[0].username)
        workspace = demo.ensure_workspace(owner, emulator_url)
        demo.ensure_members(workspace, logins)

        env = {**os.environ, "OTODOKE_PUBLIC_URL": web_url}
        processes = demo.Processes()
        channel = ":".join(
            [
                workspace.channel_access_token.reveal(),
                workspace.channel_secret.reveal(),
                workspace.channel_id,
            ]
        )
        processes.start(
            "emulator",
            [
                sys.executable,
                "-m",
                "line_emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(emulator_port),
                "--channel",
                channel,
                "--webhook-url",
                web_url + workspace.webhook_path(),
                "--state-file",
                str(demo.emulator_state_file()),
            ],
            env,
        )
        try:
            demo.wait_for(emulator_url + "/_emulator/")
            if demo.has_demo_data(workspace):
                self.stdout.write(_("Loading the demo customers from the last start…"))
            else:
                self.stdout.write(_("Creating demo customers (first start only)…"))
            friends = demo.demo_friends(workspace, contacts=options["contacts"])
            demo.register_friends(emulator_url, workspace.channel_id, friends)
            for refused in demo.ensure_scenarios(workspace):
                self.stderr.write(f"Scenario left as a draft: {refused}")
            for refused in demo.ensure_richmenus(workspace):
                self.stderr.write(f"Rich menu not published: {refused}")
            processes.start(
                "web", [sys.executable, "-m", "otodoke", "serve", "--port", str(port)], env
            )
            processes.start("worker", [sys.executable, "-m", "otodoke", "worker"], env)
            demo.wait_for(web_url + "/healthz")
        except BaseException:
            processes.stop()
            raise
        accounts = "".join(
            f"    {login.username:<9} / {login.password}   ({login.role.label})\n"
            for login in logins
        )
        self.stdout.write(
            self.style.SUCCESS(
                "\nOtodoke demo is running\n"
                f"  Web UI:          {web_url}/\n"
                f"  Log in as (username / password), one login per role:\n{accounts}"
                f"  LINE emulator:   {emulator_url}/_emulator/phone/  (each friend's phone)\n"
                f"  LINE friends:    {demo.friends_line(workspace)}\n"
                "Press Ctrl-C to stop.\n"
            )
        )
        processes.wait()
