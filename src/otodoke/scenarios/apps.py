from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScenariosConfig(AppConfig):
    name = "otodoke.scenarios"
    label = "scenarios"
    verbose_name = _("Scenarios")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The lower apps (contacts, line, messaging) announce what happened with signals of
        # their own; this app listens, so none of them imports scenarios.
        from otodoke.scenarios import hooks, timed

        hooks.connect()
        timed.connect()

    def on_worker_start(self) -> None:
        """`otodoke worker` calls this: the scheduler's task chain is queued (once)."""
        from otodoke.scenarios.tasks import ensure_chain

        ensure_chain()
