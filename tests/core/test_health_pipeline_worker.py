"""The consumption canary with a real worker: a `celery worker` process (its own Redis
database, tests/conftest.py) consumes the canary and /healthz is green; stopped with SIGSTOP (a
worker alive but taking nothing, as after the drill's Redis stall), /healthz fails its `canary`
check once the clock has moved past the stale age. The clock is moved with time-machine (the
worker runs on the test's clock); nothing waits for the 90 s."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from spoc.core.models import Heartbeat
from spoc.core.queues import QUEUES, queue_name
from spoc.core.tasks import canary_task
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MOMENT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def monitor() -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {django_settings.HEALTHZ_TOKEN}"}


def beat_ran(*, starting: bool = False) -> None:
    """Beat's marks, as beat would leave them (no beat runs in the tests)."""
    now = timezone.now()
    for name in ("beat", "beat-started") if starting else ("beat",):
        Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": now})


def send_canaries() -> None:
    """As beat does: a canary to each queue (spoc/celery.py)."""
    for queue in QUEUES:
        canary_task.apply_async((queue,), queue=queue_name(queue))


def test_a_stopped_worker_fails_the_canary_check_while_its_heartbeat_is_fresh(
    client: Any, start_celery_worker: Callable[..., Any]
) -> None:
    with time_machine.travel(MOMENT, tick=True) as traveller:
        worker = start_celery_worker()
        beat_ran(starting=True)
        send_canaries()
        wait_for(
            lambda: Heartbeat.objects.filter(name__startswith="canary:").count() == len(QUEUES),
            timeout=30,
        )
        response = wait_for(
            lambda: (r := client.get("/healthz", **monitor())).status_code == 200 and r,
            timeout=30,
        )
        assert response.json()["canary"]["ok"] is True
        # The worker consumes every queue, and recorded its start for each.
        assert Heartbeat.objects.filter(name__startswith="worker-started:").count() == len(QUEUES)

        # The worker and its pool stop taking anything; the clock moves past the stale age.
        os.killpg(worker.pid, signal.SIGSTOP)
        try:
            traveller.shift(timedelta(seconds=django_settings.CANARY_STALE_SECONDS + 5))
            beat_ran()
            send_canaries()  # sent by "beat", never consumed
            # The drill's worker kept its heartbeat fresh; this one is stopped, so its heartbeat
            # is written here, leaving the canary as the only sign.
            Heartbeat.objects.filter(name="worker").update(beat_at=timezone.now())
            response = client.get("/healthz", **monitor())
            assert response.status_code == 503
            body = response.json()
            assert body["worker"]["ok"] is True and body["beat"]["ok"] is True
            assert body["canary"]["ok"] is False
            assert "no canary task consumed" in body["canary"]["error"]
            assert body["canary"]["stalled_queues"] == list(QUEUES)

            # Past the restart threshold, the worker's healthcheck fails too.
            traveller.shift(timedelta(seconds=60))
            beat_ran()
            with pytest.raises(CommandError, match="no canary task consumed"):
                call_command("check_pipeline", "worker")
        finally:
            os.killpg(worker.pid, signal.SIGCONT)
