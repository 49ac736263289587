"""The coordinator board's "Follow-ups due" section. The board is drawn by the referrals app,
which may not import calls (docs/architecture.md, "Apps and layering"), so its template asks for
this section by name, as the directory's service page asks the rota for who is on duty."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from calls.selectors import follow_ups_pending

register = template.Library()

# As the board's other lists: the most urgent first, the heading gives the full count.
BOARD_LIMIT = 100


@register.inclusion_tag("calls/_board_follow_ups.html", takes_context=True)
def board_follow_ups(context: template.Context, now: datetime) -> dict[str, Any]:
    """The follow-ups to confirm, overdue first: one query (two past BOARD_LIMIT) and the
    access-log row of the list."""
    rows, total = follow_ups_pending(
        user=context["request"].user, limit=BOARD_LIMIT, shown_on="coordinator_board_follow_ups"
    )
    overdue = sum(1 for row in rows if row.due_at <= now)
    return {"rows": rows, "total": total, "overdue": overdue, "now": now}
