from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "spoc.core"
    label = "core"
    verbose_name = "Core"
