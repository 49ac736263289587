"""``{% load rota %}``: phones for people, and "On duty now" for pages of apps below the rota's
(the directory's service page), which cannot call its selectors from their views."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import template
from django.utils import timezone

from rota.selectors import on_duty, rota_readable_by

register = template.Library()


@register.filter
def phone_national(e164: str) -> str:
    """``+447700900123`` as ``07700 900123``; anything unreadable as it is."""
    try:
        number = phonenumbers.parse(e164, "GB")
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


@register.simple_tag
def rota_gap_sentence(gap: Any, now: Any) -> str:
    """``Night team has nobody on duty from today 22:00``."""
    return str(gap.sentence(now=now))


@register.inclusion_tag("rota/_on_duty.html", takes_context=True)
def rota_on_duty(context: Any, team: Any) -> dict[str, Any]:
    """Who is on duty now in ``team``, for a user who may read its rota (nothing otherwise). Two
    queries for a reader; one (or none) for anyone else."""
    user = context.get("user")
    if not team or not rota_readable_by(user, team_id=team.pk):
        return {"shown": False}
    return {
        "shown": True,
        "team": team,
        "people": on_duty(team_ids=[team.pk], at=timezone.now()).get(team.pk, []),
        "heading_level": 2,
    }
