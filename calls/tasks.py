"""Celery tasks of the calls app: interfaces only, one domain call each (CONTRIBUTING.md, "How we write code")."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="calls.remind_overdue_call_backs", ignore_result=True, soft_time_limit=50, time_limit=60
)
def remind_overdue_call_backs_task() -> None:
    """Text about call-backs overdue by the setting's minutes, once each
    (``calls.services.reminders.call_back_reminders_send``)."""
    from calls.services.reminders import call_back_reminders_send

    call_back_reminders_send()
