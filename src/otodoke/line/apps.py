from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LineConfig(AppConfig):
    name = "otodoke.line"
    label = "line"
    verbose_name = _("LINE")

    def ready(self) -> None:
        from otodoke.contacts.signals import contact_erasing
        from otodoke.line import privacy

        contact_erasing.connect(privacy.on_contact_erasing, dispatch_uid="line-erasing")
