from celery import shared_task

from spoc.core.heartbeat import record_heartbeat
from spoc.core.pipeline import CANARY_TASK, canary_mark


@shared_task(name="core.heartbeat", ignore_result=True, soft_time_limit=20, time_limit=30)
def heartbeat_task(name: str) -> None:
    """Record a heartbeat under `name` from inside a task: proves the broker -> worker -> database
    path end to end (used by the health tests and by operators: `celery call core.heartbeat`)."""
    record_heartbeat(name)


@shared_task(name=CANARY_TASK, ignore_result=True, soft_time_limit=20, time_limit=30)
def canary_task(queue: str) -> None:
    """Sent by beat every 30 s to each queue: records that a worker consumed it from ``queue``
    (the `canary` check of /healthz, spoc/core/pipeline.py)."""
    record_heartbeat(canary_mark(queue))
