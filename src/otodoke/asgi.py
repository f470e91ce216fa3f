import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otodoke.settings")

django_application = get_asgi_application()

# After Django is set up: the LINE webhook is answered before Django's middleware stack
# (OTODOKE_WEBHOOK_FAST_PATH=0 sends it through Django like every other URL).
from django.conf import settings  # noqa: E402

from otodoke.line.asgi import webhook_fast_path  # noqa: E402

application = (
    webhook_fast_path(django_application) if settings.LINE_WEBHOOK_FAST_PATH else django_application
)
