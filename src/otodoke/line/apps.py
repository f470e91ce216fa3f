from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LineConfig(AppConfig):
    name = "otodoke.line"
    label = "line"
    verbose_name = _("LINE")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from otodoke.contacts.signals import contact_erasing, line_ids_imported
        from otodoke.line import ingest, privacy
        from otodoke.line.verify import on_line_ids_imported

        contact_erasing.connect(privacy.on_contact_erasing, dispatch_uid="line-erasing")
        line_ids_imported.connect(on_line_ids_imported, dispatch_uid="line.verify_imported_links")
        # The webhook's cached channel secrets: a changed secret is used at once.
        for signal in (post_save, post_delete):
            signal.connect(
                ingest.forget_channels, sender="workspaces.Workspace", dispatch_uid="line.secrets"
            )
