"""Celery tasks of the feedback app: interfaces only, one domain call each (CONTRIBUTING.md,
"How we write code")."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="experience.send_due", ignore_result=True, soft_time_limit=240, time_limit=270)
def send_due_task() -> None:
    """Send the feedback texts and bereaved relatives' surveys due, once each
    (``experience.services.invitations_send_due``). Its limits: 20 texts at most, each up to
    NOTIFY_TIMEOUT_SECONDS, within the 5 minutes before the next run."""
    from experience.services import invitations_send_due

    invitations_send_due()
