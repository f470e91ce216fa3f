from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "otodoke.core"
    label = "core"
    verbose_name = "Otodoke core"
