from django.apps import AppConfig
from django.db.backends.signals import connection_created


class DashboardsConfig(AppConfig):
    name = "spoc.dashboards"
    label = "dashboards"
    verbose_name = "Manager dashboards"

    def ready(self) -> None:
        from spoc.dashboards.sqlite import register_functions

        connection_created.connect(register_functions, dispatch_uid="dashboards.sqlite_functions")
