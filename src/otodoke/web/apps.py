from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """The staff UI: the app shell, the dashboard, settings and the pages over each domain app."""

    name = "otodoke.web"
    verbose_name = _("Web UI")
