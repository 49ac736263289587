"""Whether the task pipeline moves: the consumption canary and beat's mark (docs/routing.md,
"Health checks").

A worker's heartbeat proves only that its process is alive. Beat sends the `core.canary` task
every 30 s on each queue the hub uses; before sending it, beat records the mark ``beat``
(scheduled at), and the worker that runs it records ``canary`` (consumed at). So:

- ``canary`` stale while ``beat`` is fresh: beat schedules, no worker consumes (alive or not);
- ``beat`` stale: beat has stopped (and the canary stops with it).

Start-up grace: a canary is not expected before a worker and beat have both run for the stale
age, since the first one may not have been scheduled and consumed yet. Each records the moment
it started (``worker-started``, ``beat-started``); while the later of the two is younger than
CANARY_STALE_SECONDS, a missing or stale canary is reported as ``starting`` and does not fail.
Beat records its mark as it starts, so it needs no grace; a beat never started fails.

The rules (`canary_state`, `beat_state`) are plain functions of the times; `pipeline_marks`
reads the times from the Heartbeat table, which the worker's heartbeat already uses (one store
on PostgreSQL and on the embedded SQLite default alike).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

logger = logging.getLogger(__name__)

CANARY = "canary"
BEAT = "beat"
WORKER_STARTED = "worker-started"
BEAT_STARTED = "beat-started"
CANARY_TASK = "core.canary"


@dataclass(frozen=True)
class PipelineMarks:
    canary_at: datetime | None
    beat_at: datetime | None
    worker_started_at: datetime | None
    beat_started_at: datetime | None


def _age(now: datetime, then: datetime) -> int:
    return int((now - then).total_seconds())


def canary_state(*, marks: PipelineMarks, now: datetime, stale_after: int) -> dict[str, Any]:
    """The `canary` check: ok when a canary task was consumed within ``stale_after`` seconds,
    or while the start-up grace lasts (module docstring)."""
    limit = timedelta(seconds=stale_after)
    if marks.canary_at is not None and now - marks.canary_at <= limit:
        return {
            "ok": True,
            "last_consumed_at": marks.canary_at.isoformat(),
            "age_seconds": _age(now, marks.canary_at),
        }
    starts = [t for t in (marks.worker_started_at, marks.beat_started_at) if t is not None]
    if len(starts) == 2 and now - max(starts) <= limit:
        return {"ok": True, "starting": True, "started_seconds_ago": _age(now, max(starts))}
    if marks.canary_at is None:
        return {"ok": False, "error": "no canary task consumed yet"}
    return {
        "ok": False,
        "error": f"no canary task consumed for over {stale_after} s: tasks are not being taken",
        "last_consumed_at": marks.canary_at.isoformat(),
        "age_seconds": _age(now, marks.canary_at),
    }


def beat_state(*, marks: PipelineMarks, now: datetime, stale_after: int) -> dict[str, Any]:
    """The `beat` check: ok when beat scheduled the canary within ``stale_after`` seconds."""
    if marks.beat_at is None:
        return {"ok": False, "error": "beat has not run yet"}
    age = _age(now, marks.beat_at)
    if now - marks.beat_at <= timedelta(seconds=stale_after):
        return {"ok": True, "last_scheduled_at": marks.beat_at.isoformat(), "age_seconds": age}
    return {
        "ok": False,
        "error": f"beat has scheduled nothing for over {stale_after} s: beat has stopped",
        "last_scheduled_at": marks.beat_at.isoformat(),
        "age_seconds": age,
    }


def worker_needs_restart(*, marks: PipelineMarks, now: datetime, restart_after: int) -> bool:
    """Whether a supervisor should restart the worker: beat is alive (so canaries are being
    sent) and none has been consumed for ``restart_after`` seconds, past the start-up grace.
    With beat stopped no canary is sent, so a stale canary says nothing of the worker."""
    beat_alive = beat_state(marks=marks, now=now, stale_after=restart_after)["ok"]
    canary = canary_state(marks=marks, now=now, stale_after=restart_after)
    return bool(beat_alive and not canary["ok"])


def pipeline_marks() -> PipelineMarks:
    from spoc.core.models import Heartbeat

    rows = dict(
        Heartbeat.objects.filter(name__in=(CANARY, BEAT, WORKER_STARTED, BEAT_STARTED)).values_list(
            "name", "beat_at"
        )
    )
    return PipelineMarks(
        canary_at=rows.get(CANARY),
        beat_at=rows.get(BEAT),
        worker_started_at=rows.get(WORKER_STARTED),
        beat_started_at=rows.get(BEAT_STARTED),
    )


def record_mark(name: str) -> None:
    """Record a mark, logging (never raising) when the database cannot be reached: a mark must
    not stop beat or the worker."""
    from spoc.core.heartbeat import record_heartbeat

    try:
        record_heartbeat(name)
    except Exception:
        logger.exception("pipeline mark %s not recorded", name)
