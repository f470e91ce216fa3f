from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "otodoke.tracking"
    label = "tracking"
    verbose_name = _("Link tracking")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from otodoke.contacts.signals import contact_erasing
        from otodoke.tracking import privacy

        contact_erasing.connect(privacy.on_contact_erasing, dispatch_uid="tracking-erasing")
