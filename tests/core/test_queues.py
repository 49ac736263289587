"""The task queues (spoc/core/queues.py): which task goes where, the P1-P2 routing queue, and
that production's workers (docker-compose.yml) consume every queue."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from spoc.celery import app
from spoc.core.queues import (
    NOTIFICATIONS,
    QUEUES,
    ROUTING,
    ROUTING_URGENT,
    SUMMARIES,
    TASK_ROUTES,
    WORKERS,
    queue_name,
    routing_queue,
)

ROOT = Path(__file__).resolve().parent.parent.parent


def queue_of(task_name: str) -> str:
    """The broker's queue Celery's router sends ``task_name`` to (the settings' routes)."""
    return str(app.amqp.router.route({}, task_name)["queue"].name)


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("referrals.route", ROUTING),
        ("referrals.sweep_routing", ROUTING),
        ("referrals.notify_new_referral", NOTIFICATIONS),
        ("referrals.escalate", NOTIFICATIONS),
        ("interop.outbox_feed", NOTIFICATIONS),
        ("interop.outbox_deliver", NOTIFICATIONS),
        ("interop.gp_letters_feed", NOTIFICATIONS),
        ("alerts.page_the_on_call_lead", NOTIFICATIONS),  # any alert task, present or to come
        ("rota.flag_gaps", NOTIFICATIONS),
        ("dashboards.refresh_summaries", SUMMARIES),
        ("core.heartbeat", SUMMARIES),  # no route: the default queue
    ],
)
def test_each_task_goes_to_the_queue_of_its_kind(task_name, queue):
    assert queue_of(task_name) == queue_name(queue)


def test_every_task_of_the_hub_has_a_route_of_its_own():
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    # The two probes go where they are sent: the canary to each queue, a heartbeat anywhere.
    unrouted = {
        name
        for name in ours - {"core.canary", "core.heartbeat"}
        if not any(fnmatch(name, pattern) for pattern in TASK_ROUTES)
    }
    assert unrouted == set()
    assert "referrals.route" in ours


def test_p1_p2_routing_has_its_own_queue_which_a_worker_takes_first():
    assert [routing_queue(p) for p in ("P1", "P2")] == [queue_name(ROUTING_URGENT)] * 2
    assert {routing_queue(p) for p in ("P3", "P4", "P5")} == {queue_name(ROUTING)}
    # A worker given no --queues consumes every queue, in this order; on Redis it always looks
    # at the first queue before the next (not Kombu's round robin).
    assert [q.name for q in app.conf.task_queues] == [queue_name(q) for q in QUEUES]
    assert QUEUES[0] == ROUTING_URGENT


def test_production_runs_a_worker_for_each_kind_and_every_queue_is_consumed():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services: dict[str, Any] = compose["services"]
    consumed: list[str] = []
    for kind, queues in WORKERS.items():
        service = services[f"worker-{kind}"]
        command = service["command"]
        assert command[command.index("--queues") + 1] == ",".join(queues)
        # Its healthcheck watches the canaries of its own queues, and it is restarted.
        assert (
            f"check_pipeline worker --queues {','.join(queues)};"
            in service["healthcheck"]["test"][1]
        )
        assert service["restart"] == "unless-stopped"
        consumed += queues
    assert sorted(consumed) == sorted(QUEUES)
    assert "worker" not in services
