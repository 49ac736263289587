"""Per-service clock overrides (docs/design.md §3: "per-priority clock overrides").

Stored on the service as JSON, e.g. ``{"P2": {"contact_within_minutes": 180}, "P5":
{"contact_working_days": 3}}``. Only the keys below may be overridden; whether a clock runs in
real time is fixed by its priority (docs/reference.md "Urgency").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from services.codes import CLOCKS, Clock

MINUTE_KEYS = {"accept_within_minutes": "accept_within", "contact_within_minutes": "contact_within"}
COUNT_KEYS = ("accept_service_hours", "accept_working_days", "contact_working_days")


class InvalidClockOverride(ValueError):
    pass


def clock_overrides_parse(raw: Mapping[str, Any] | None) -> dict[str, Clock]:
    """The effective Clock per overridden priority; raises InvalidClockOverride naming the
    priority and key when the JSON is not one of the allowed shapes."""
    clocks: dict[str, Clock] = {}
    for priority, fields in (raw or {}).items():
        if priority not in CLOCKS:
            raise InvalidClockOverride(f"Unknown priority {priority!r} in clock overrides.")
        if not isinstance(fields, Mapping) or not fields:
            raise InvalidClockOverride(f"{priority}: give at least one clock to override.")
        base = CLOCKS[priority]
        changes: dict[str, Any] = {}
        for key, value in fields.items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise InvalidClockOverride(f"{priority}.{key}: must be a whole number above 0.")
            if key in MINUTE_KEYS and base.real_time:
                changes[MINUTE_KEYS[key]] = timedelta(minutes=value)
            elif key in COUNT_KEYS and not base.real_time:
                changes[key] = value
                # The accept clock counts either service hours or working days.
                other = {
                    "accept_service_hours": "accept_working_days",
                    "accept_working_days": "accept_service_hours",
                }.get(key)
                if other and other not in fields:
                    changes[other] = None
            else:
                allowed = sorted(MINUTE_KEYS) if base.real_time else list(COUNT_KEYS)
                raise InvalidClockOverride(
                    f"{priority}.{key}: not a clock of this priority (use {', '.join(allowed)})."
                )
        clock = dataclasses.replace(base, **changes)
        if clock.accept_service_hours and clock.accept_working_days:
            raise InvalidClockOverride(
                f"{priority}: accept within service hours or working days, not both."
            )
        clocks[priority] = clock
    return clocks
