from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"

    def ready(self) -> None:
        from referrals.services.escalation import escalation_backlog_check
        from referrals.services.sweeper import routing_backlog_check
        from spoc.core.health import register_check

        register_check("routing", routing_backlog_check)
        register_check("escalation", escalation_backlog_check)
