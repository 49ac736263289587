"""Phone numbers kept in E.164 by the telephony tables, as people read them."""

from django import template

from calls.telephony import national

register = template.Library()


@register.filter
def phone_national(value: str | None) -> str:
    """``+441514960123`` -> ``0151 496 0123``; blank stays blank."""
    return national(value or "")
