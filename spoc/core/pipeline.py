"""Whether the task pipeline moves: the consumption canaries and beat's mark (docs/operations.md,
"Health checks").

A worker's heartbeat proves only that its process is alive. Beat sends the `core.canary` task
every 30 s to each queue (spoc/core/queues.py); before sending one, beat records the mark
``beat`` (scheduled at), and the worker that runs it records ``canary:<queue>`` (consumed at).
So, for each queue:

- its canary stale while ``beat`` is fresh: beat schedules, no worker consumes that queue (alive
  or not);
- ``beat`` stale: beat has stopped (and every canary stops with it).

Start-up grace: a canary is not expected before a worker of its queue and beat have both run for
the stale age, since the first one may not have been scheduled and consumed yet. Each records the
moment it started (a worker ``worker-started:<queue>`` for each queue it consumes, beat
``beat-started``); while the later of the two is younger than CANARY_STALE_SECONDS, a missing or
stale canary is reported as ``starting`` and does not fail. Beat records its mark as it starts,
so it needs no grace; a beat never started fails, and so does a queue no worker ever consumed.

The rules (`canary_state`, `canaries_state`, `beat_state`) are plain functions of the times;
`pipeline_marks` reads the times from the Heartbeat table, which the worker's heartbeat already
uses (one store on PostgreSQL and on the embedded SQLite default alike).
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


def canary_mark(queue: str) -> str:
    """The mark a worker records when it consumes the canary of ``queue``."""
    return f"{CANARY}:{queue}"


def worker_started_mark(queue: str) -> str:
    """The mark a worker records, as it starts, for each queue it consumes."""
    return f"{WORKER_STARTED}:{queue}"


@dataclass(frozen=True)
class PipelineMarks:
    """The marks as one queue sees them: its canary and its workers' start, and beat's."""

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


def canaries_state(
    *, marks: dict[str, PipelineMarks], now: datetime, stale_after: int
) -> dict[str, Any]:
    """The `canary` check over every queue: ok when each queue's canary is (`canary_state`);
    otherwise the error names the queues that take nothing."""
    states = {
        queue: canary_state(marks=queue_marks, now=now, stale_after=stale_after)
        for queue, queue_marks in marks.items()
    }
    stalled = [queue for queue, state in states.items() if not state["ok"]]
    if not stalled:
        return {"ok": True, "queues": states}
    return {
        "ok": False,
        "error": (
            f"no canary task consumed for over {stale_after} s on {', '.join(stalled)}: "
            "tasks are not being taken from that queue"
        ),
        "stalled_queues": stalled,
        "queues": states,
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


def queues_needing_restart(
    *, marks: dict[str, PipelineMarks], now: datetime, restart_after: int
) -> list[str]:
    """The queues whose workers a supervisor should restart (`worker_needs_restart`)."""
    return [
        queue
        for queue, queue_marks in marks.items()
        if worker_needs_restart(marks=queue_marks, now=now, restart_after=restart_after)
    ]


def pipeline_marks(queues: tuple[str, ...] | None = None) -> dict[str, PipelineMarks]:
    """Each queue's marks (every queue of spoc/core/queues.py by default), in one query."""
    from spoc.core.models import Heartbeat
    from spoc.core.queues import QUEUES

    queues = queues or QUEUES
    names = [BEAT, BEAT_STARTED]
    for queue in queues:
        names += [canary_mark(queue), worker_started_mark(queue)]
    rows = dict(Heartbeat.objects.filter(name__in=names).values_list("name", "beat_at"))
    return {
        queue: PipelineMarks(
            canary_at=rows.get(canary_mark(queue)),
            beat_at=rows.get(BEAT),
            worker_started_at=rows.get(worker_started_mark(queue)),
            beat_started_at=rows.get(BEAT_STARTED),
        )
        for queue in queues
    }


def record_mark(name: str) -> None:
    """Record a mark, logging (never raising) when the database cannot be reached: a mark must
    not stop beat or the worker."""
    from spoc.core.heartbeat import record_heartbeat

    try:
        record_heartbeat(name)
    except Exception:
        logger.exception("pipeline mark %s not recorded", name)
