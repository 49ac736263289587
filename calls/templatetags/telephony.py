"""Phone numbers kept in E.164 by the telephony tables, as people read them."""

from datetime import datetime

from django import template

from calls.telephony import call_back_due_wording, national

register = template.Library()


@register.filter
def phone_national(value: str | None) -> str:
    """``+441514960123`` -> ``0151 496 0123``; blank stays blank."""
    return national(value or "")


@register.filter
def due_wording(due_at: datetime, now: datetime) -> str:
    """``{{ cb.due_at|due_wording:now }}``: ``Due now``, ``Overdue by 25 minutes`` or ""."""
    return call_back_due_wording(due_at, now)
