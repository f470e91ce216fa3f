from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RichMenusConfig(AppConfig):
    name = "otodoke.richmenus"
    label = "richmenus"
    verbose_name = _("Rich menus")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Contacts announce tag and event changes with signals; this app re-evaluates its
        # rules' segment watches for those contacts, so contacts never import rich menus.
        from otodoke.richmenus import hooks

        hooks.connect()

    def on_worker_start(self) -> None:
        """`otodoke worker` calls this: the rich-menu sync chain is queued (once)."""
        from otodoke.richmenus.tasks import ensure_chain

        ensure_chain()
