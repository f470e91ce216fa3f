from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaConfig(AppConfig):
    name = "otodoke.media"
    label = "media"
    verbose_name = _("Image hosting")
    default_auto_field = "django.db.models.BigAutoField"
