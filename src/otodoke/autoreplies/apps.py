from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutorepliesConfig(AppConfig):
    name = "otodoke.autoreplies"
    label = "autoreplies"
    verbose_name = _("Auto-replies")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The line app announces follows, messages and postbacks with signals; this app
        # listens, so line never imports it.
        from otodoke.autoreplies import hooks

        hooks.connect()
        # The chat inbox shows the answers in each friend's timeline.
        from django.apps import apps

        if apps.is_installed("otodoke.chat"):
            from otodoke.autoreplies.timeline import reply_items
            from otodoke.chat.timeline import register

            register("autoreplies", reply_items)
