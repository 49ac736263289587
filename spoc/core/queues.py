"""The task queues and which tasks go to each (docs/architecture.md, "Celery and the broker").

Each kind of work has a queue of its own, so that a backlog of one never delays another:
referrals waiting to be routed do not wait behind a delivery to a partner, nor behind the
dashboards. Routing at P1-P2 has a queue of its own, which a worker consuming both routing
queues always takes from first. In production each kind runs in worker processes of its own
(docker-compose.yml); in development one worker consumes every queue (runhub, `make run`).

The settings build ``CELERY_TASK_QUEUES``, ``CELERY_TASK_ROUTES`` and the default queue from
here; beat sends a canary to each queue (spoc/celery.py). This module imports nothing, so the
settings can read it.
"""

from __future__ import annotations

ROUTING_URGENT = "routing-urgent"
ROUTING = "routing"
NOTIFICATIONS = "notifications"
SUMMARIES = "summaries"

# Every queue, in the order a worker consuming several of them takes from them (on Redis, a
# worker always looks at the first before the next: the transport option queue_order_strategy).
QUEUES = (ROUTING_URGENT, ROUTING, NOTIFICATIONS, SUMMARIES)

# The worker processes of production (docker-compose.yml) and the queues each consumes.
WORKERS = {
    "routing": (ROUTING_URGENT, ROUTING),
    "notifications": (NOTIFICATIONS,),
    "summaries": (SUMMARIES,),
}

# Task name (a glob pattern) -> queue. Routing of a P1-P2 referral is sent to ROUTING_URGENT by
# the code that enqueues it (referrals/services/enqueue.py), since the task carries only an id.
# A task that matches nothing goes to SUMMARIES (the default queue), where it can delay neither
# routing nor a notification; tests/core/test_queues.py fails on a task of the hub's without a
# route here.
TASK_ROUTES = {
    "referrals.route": ROUTING,
    "referrals.sweep_routing": ROUTING,
    "referrals.notify_new_referral": NOTIFICATIONS,
    "referrals.escalate": NOTIFICATIONS,
    "interop.*": NOTIFICATIONS,
    "alerts.*": NOTIFICATIONS,
    "rota.*": NOTIFICATIONS,  # the rota's gaps, emailed to the teams' leads
    "calls.remind_overdue_call_backs": NOTIFICATIONS,  # texts about overdue call-backs
    "experience.*": NOTIFICATIONS,  # feedback texts to patients, carers and bereaved relatives
    "dashboards.*": SUMMARIES,
    "audit.*": SUMMARIES,  # the access log's old months archived, once a day
}
DEFAULT_QUEUE = SUMMARIES

# Routing of referrals at these priorities goes to ROUTING_URGENT (services/codes.py, Priority).
URGENT_PRIORITIES = frozenset({"P1", "P2"})


def queue_name(queue: str) -> str:
    """The broker's name of ``queue``: with the prefix of the settings (TASK_QUEUE_PREFIX, set by
    the test suite so that two test runs sharing a Redis never take each other's tasks)."""
    from django.conf import settings

    return f"{settings.TASK_QUEUE_PREFIX}{queue}"


def routing_queue(priority: str) -> str:
    """The broker's name of the queue for routing a referral at ``priority``."""
    return queue_name(ROUTING_URGENT if priority in URGENT_PRIORITIES else ROUTING)
