from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "otodoke.tracking"
    label = "tracking"
    verbose_name = _("Link tracking")
    default_auto_field = "django.db.models.BigAutoField"
