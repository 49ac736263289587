from django.apps import AppConfig


class RotaConfig(AppConfig):
    name = "rota"
    verbose_name = "Duty rota"
