"""When a feedback text may go, without the database (docs/operations.md, "Feedback texts").

A text about feedback is never sent at night nor early in the morning: it is moved to the next
moment inside the sending hours, London time. A bereaved relative's survey is due a set number
of days after the death (``BEREAVED_SURVEY_AFTER_DAYS``), then moved the same way."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
# Texts about feedback arrive between 10:00 and 19:00 London time: not before people are up, nor
# in the evening (docs/clinical-safety/hazard-log.md, H-035).
SEND_FROM = time(10, 0)
SEND_UNTIL = time(19, 0)


def within_sending_hours(at: datetime) -> datetime:
    """``at`` if it falls within the sending hours (London), else the next start of them."""
    local = at.astimezone(LONDON)
    if SEND_FROM <= local.time() < SEND_UNTIL:
        return at
    day = local.date() if local.time() < SEND_FROM else local.date() + timedelta(days=1)
    return datetime.combine(day, SEND_FROM, tzinfo=LONDON)


def survey_due(*, died_at: datetime, after_days: int) -> datetime:
    """When a bereaved relative's survey is due: ``after_days`` after the death, in the sending
    hours."""
    return within_sending_hours(died_at + timedelta(days=after_days))
