from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "otodoke.chat"
    label = "chat"
    verbose_name = _("Chat")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The line app announces friends' messages with signals; this app listens, so the line
        # app never imports chat. Outbound sources (campaigns, scenarios) register themselves
        # with the timeline registry here, read-only.
        from otodoke.chat import hooks

        hooks.connect()
