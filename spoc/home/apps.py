from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "spoc.home"
    label = "home"
    verbose_name = "Home"
