"""Celery tasks of the referrals app: interfaces only, one domain call each (CONTRIBUTING.md, "How we write code")."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from referrals.services.routing import referral_route


@shared_task(
    name="referrals.route",
    ignore_result=True,
    # Acknowledged after it ran: a worker killed mid-task leaves it to be redelivered, which is
    # safe because routing only touches a referral still awaiting routing.
    acks_late=True,
    # A restarted or briefly unreachable database: try again, backing off (1, 2, 4, ... s).
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=30,
    time_limit=60,
)
def route_referral_task(referral_id: int) -> None:
    """Route referral ``referral_id`` (``referrals.services.routing.referral_route``)."""
    referral_route(referral_id=referral_id)


@shared_task(name="referrals.sweep_routing", ignore_result=True, soft_time_limit=50, time_limit=60)
def sweep_routing_task() -> None:
    """Re-enqueue routing left undone (``referrals.services.sweeper.routing_sweep``)."""
    from referrals.services.sweeper import routing_sweep

    routing_sweep()


@shared_task(name="referrals.escalate", ignore_result=True, soft_time_limit=50, time_limit=60)
def escalate_task() -> None:
    """Record passed clock milestones and notify (``referrals.services.escalation.escalations_run``)."""
    from referrals.services.escalation import escalations_run

    escalations_run()


@shared_task(
    name="referrals.notify_new_referral", ignore_result=True, soft_time_limit=30, time_limit=60
)
def notify_new_referral_task(referral_id: int) -> None:
    """Email the team on duty about a newly queued referral
    (``referrals.services.escalation.new_referral_notify``)."""
    from referrals.services.escalation import new_referral_notify

    new_referral_notify(referral_id=referral_id)
