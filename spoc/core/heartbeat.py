"""The worker's heartbeat: a bootstep that records, every few seconds, that the worker is alive.

It runs in the worker's main process on the worker's own timer, independent of beat and of the
task queue, so a stuck queue and a dead worker can be told apart.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

from celery import bootsteps

from spoc.core.pipeline import record_mark, worker_started_mark

if TYPE_CHECKING:
    from kombu.asynchronous.timer import Entry

logger = logging.getLogger(__name__)


def record_heartbeat(name: str = "worker") -> None:
    from django.db import close_old_connections
    from django.utils import timezone

    from spoc.core.models import Heartbeat

    close_old_connections()
    Heartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now(), "detail": socket.gethostname()[:200]}
    )


def consumed_queues(app: Any) -> list[str]:
    """The hub's queues (spoc/core/queues.py) this worker consumes (its --queues, or all)."""
    from spoc.core.queues import QUEUES, queue_name

    consumed = app.amqp.queues.consume_from or app.amqp.queues
    return [queue for queue in QUEUES if queue_name(queue) in consumed]


class WorkerHeartbeat(bootsteps.StartStopStep):
    requires = ("celery.worker.components:Timer",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        # The worker's timer's entry (Celery's timer2 and Kombu's event-loop timer share Kombu's).
        self.tref: Entry | None = None

    def start(self, parent: Any) -> None:
        from django.conf import settings

        self._beat()
        # The start-up grace of each consumed queue's canary counts from here
        # (spoc/core/pipeline.py).
        for queue in consumed_queues(parent.app):
            record_mark(worker_started_mark(queue))
        self.tref = parent.timer.call_repeatedly(settings.WORKER_HEARTBEAT_SECONDS, self._beat)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def _beat(self) -> None:
        try:
            record_heartbeat()
        except Exception:  # a database outage must not kill the worker
            logger.exception("worker heartbeat not recorded")
