from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "spoc.audit"
    label = "audit"
    verbose_name = "Access log"

    def ready(self) -> None:
        from spoc.audit import receivers  # noqa: F401  (sign-in events)
