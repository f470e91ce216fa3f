from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "otodoke.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from otodoke.campaigns import privacy, reconcile
        from otodoke.contacts.signals import contact_erasing
        from otodoke.line.signals import friend_unfollowed

        friend_unfollowed.connect(reconcile.on_unfollow, dispatch_uid="campaigns-unfollow")
        contact_erasing.connect(privacy.on_contact_erasing, dispatch_uid="campaigns-erasing")
