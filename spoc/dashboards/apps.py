from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "spoc.dashboards"
    label = "dashboards"
    verbose_name = "Manager dashboards"
