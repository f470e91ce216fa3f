from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentsConfig(AppConfig):
    name = "otodoke.segments"
    label = "segments"
    verbose_name = _("Segments, audiences and exports")
    default_auto_field = "django.db.models.BigAutoField"
