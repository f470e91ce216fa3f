from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentsConfig(AppConfig):
    name = "otodoke.segments"
    label = "segments"
    verbose_name = _("Segments, audiences and exports")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from otodoke.contacts.signals import contact_erasing
        from otodoke.segments import privacy

        contact_erasing.connect(privacy.on_contact_erasing, dispatch_uid="segments-erasing")
