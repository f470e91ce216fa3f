from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.core.commands import OtodokeCommand
from otodoke.core.env import KEYS_FILE, generate_keys


class Command(OtodokeCommand):
    help = gettext_noop(
        "Generate SECRET_KEY and an encryption key into DATA_DIR/keys.json (done by `otodoke` "
        "before this runs when the environment sets no keys). --print-keys prints a fresh set "
        "as environment variables for a production install instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--print-keys", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["print_keys"]:
            keys = generate_keys()
            self.stdout.write(f"SECRET_KEY={keys['SECRET_KEY']}")
            self.stdout.write(f"OTODOKE_ENCRYPTION_KEYS={keys['ENCRYPTION_KEYS'][0]}")
            return
        self.stdout.write(
            _("Keys are in %(file)s; back this file up.") % {"file": settings.DATA_DIR / KEYS_FILE}
        )
