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


# Urgent alerts by text message (referrals/services/alerts.py). Named "alerts.*": they are
# routed together, apart from routing and escalation.


@shared_task(name="alerts.start", ignore_result=True, soft_time_limit=30, time_limit=60)
def alerts_start_task(referral_id: int) -> None:
    """Start the urgent alert chain of a referral just queued, without waiting for the walk
    (``referrals.services.alerts.alerts_start_due``)."""
    from referrals.services.alerts import alerts_start_due

    alerts_start_due(referral_id=referral_id)


@shared_task(
    name="alerts.send",
    ignore_result=True,
    # A worker killed mid-send leaves it to be redelivered; the lease keeps two from sending.
    acks_late=True,
    soft_time_limit=30,
    time_limit=60,
)
def alert_send_task(alert_id: int) -> None:
    """Send one alert's text through Notify (``referrals.services.alerts.alert_send``); a
    failure is recorded on the row and the walk tries again."""
    from referrals.services.alerts import alert_send

    alert_send(alert_id=alert_id)


@shared_task(name="alerts.walk_chains", ignore_result=True, soft_time_limit=50, time_limit=60)
def alerts_walk_task() -> None:
    """Move the alert chains on, start those nothing started, send what was not sent
    (``referrals.services.alerts.alerts_walk``)."""
    from referrals.services.alerts import alerts_walk

    alerts_walk()


@shared_task(name="alerts.digest", ignore_result=True, soft_time_limit=50, time_limit=60)
def alerts_digest_task() -> None:
    """Text each team on duty how many new routine referrals it has, at most hourly
    (``referrals.services.alerts.alerts_digest``)."""
    from referrals.services.alerts import alerts_digest

    alerts_digest()
