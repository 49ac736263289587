"""Moments that tests set the clock to with time-machine (docs/testing.md, "Time in tests")."""

from datetime import datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

# Wednesday 10 June 2026, 10:30 in London (BST): a weekday mid-morning, not an England and Wales
# bank holiday, weeks from a clock change and hours from midnight. Services open in the daytime
# (09:00-17:00, 08:00-20:00) are open, and "today", "this week" and "next Monday" are ordinary.
WEEKDAY_MORNING = datetime(2026, 6, 10, 10, 30, tzinfo=LONDON)
