"""Celery tasks of the interop app: interfaces only, one call each (CONTRIBUTING.md, "How we
write code"). Both run from beat (spoc/celery.py) and are harmless when run twice, or twice at
once (interop/outbox.py)."""

from __future__ import annotations

from celery import shared_task

from interop.gp_letters import gp_letters_feed
from interop.outbox import outbox_deliver, outbox_feed


@shared_task(name="interop.outbox_feed", ignore_result=True, soft_time_limit=50, time_limit=60)
def outbox_feed_task() -> None:
    """Add the response messages owed to referrers (``interop.outbox.outbox_feed``)."""
    outbox_feed()


@shared_task(name="interop.outbox_deliver", ignore_result=True, soft_time_limit=50, time_limit=60)
def outbox_deliver_task() -> None:
    """Send the response messages due (``interop.outbox.outbox_deliver``). A run stops taking
    messages after 25 s; a message it had taken when it was stopped is sent again once its
    lease (90 s, referrals/services/outbox.py) has passed."""
    outbox_deliver()


@shared_task(name="interop.gp_letters_feed", ignore_result=True, soft_time_limit=50, time_limit=60)
def gp_letters_feed_task() -> None:
    """Make the letters owed to GP practices (``interop.gp_letters.gp_letters_feed``); the
    delivery job sends them."""
    gp_letters_feed()
