"""The consumption canaries (one per queue) and beat's mark (spoc/core/pipeline.py): the rules,
/healthz in each state, `check_pipeline`, beat's hooks and runhub's restart rule. Times are set
with time-machine; nothing here waits on the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from spoc.celery import _beat_mark, _beat_started
from spoc.core.models import Heartbeat
from spoc.core.pipeline import (
    PipelineMarks,
    beat_state,
    canaries_state,
    canary_state,
    pipeline_marks,
    queues_needing_restart,
    worker_needs_restart,
)
from spoc.core.queues import NOTIFICATIONS, QUEUES, ROUTING, SUMMARIES, queue_name
from spoc.core.tasks import canary_task
from spoc.home.management.commands.runhub import Command as RunHub

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def ago(seconds: int) -> datetime:
    return NOW - timedelta(seconds=seconds)


def marks(
    *,
    canary: int | None = None,
    beat: int | None = None,
    worker_started: int | None = 3600,
    beat_started: int | None = 3600,
) -> PipelineMarks:
    """Marks as ages in seconds before NOW (None: never recorded)."""

    def at(age: int | None) -> datetime | None:
        return None if age is None else ago(age)

    return PipelineMarks(
        canary_at=at(canary),
        beat_at=at(beat),
        worker_started_at=at(worker_started),
        beat_started_at=at(beat_started),
    )


# --- The rules ----------------------------------------------------------------------------------


def test_a_fresh_canary_and_beat_are_ok():
    state = canary_state(marks=marks(canary=20, beat=5), now=NOW, stale_after=90)
    assert state == {"ok": True, "last_consumed_at": ago(20).isoformat(), "age_seconds": 20}
    assert beat_state(marks=marks(canary=20, beat=5), now=NOW, stale_after=90)["ok"] is True


def test_a_canary_at_the_limit_is_ok_and_one_second_more_fails():
    assert canary_state(marks=marks(canary=90, beat=5), now=NOW, stale_after=90)["ok"] is True
    state = canary_state(marks=marks(canary=91, beat=5), now=NOW, stale_after=90)
    assert state["ok"] is False
    assert "no canary task consumed for over 90 s" in state["error"]
    assert state["age_seconds"] == 91


def test_a_stale_beat_fails_and_says_beat_has_stopped():
    state = beat_state(marks=marks(canary=100, beat=91), now=NOW, stale_after=90)
    assert state["ok"] is False
    assert "beat has stopped" in state["error"]
    assert beat_state(marks=marks(), now=NOW, stale_after=90) == {
        "ok": False,
        "error": "beat has not run yet",
    }


def test_start_up_grace_while_the_worker_or_beat_started_within_the_stale_age():
    # Just started: no canary yet, and none is expected before both have run for 90 s.
    started = marks(canary=None, beat=1, worker_started=30, beat_started=2)
    assert canary_state(marks=started, now=NOW, stale_after=90) == {
        "ok": True,
        "starting": True,
        "started_seconds_ago": 2,
    }
    # A worker restarted after a stall: the old canary is stale, the new worker gets its grace.
    restarted = marks(canary=400, beat=1, worker_started=10)
    assert canary_state(marks=restarted, now=NOW, stale_after=90)["starting"] is True
    # The grace ends 90 s after the later start.
    late = marks(canary=None, beat=1, worker_started=91, beat_started=200)
    assert canary_state(marks=late, now=NOW, stale_after=90) == {
        "ok": False,
        "error": "no canary task consumed yet",
    }
    # A process that never recorded its start gives no grace.
    no_beat = marks(canary=None, beat=None, worker_started=5, beat_started=None)
    assert canary_state(marks=no_beat, now=NOW, stale_after=90)["ok"] is False


@pytest.mark.parametrize(
    ("canary", "beat", "worker_started", "restart"),
    [
        (20, 5, 3600, False),  # consuming
        (121, 5, 3600, True),  # beat sends, nothing consumed for over 120 s
        (121, 121, 3600, False),  # beat stopped: a stale canary says nothing of the worker
        (121, 5, 60, False),  # a worker started a minute ago: its grace
        (None, 5, 3600, True),  # never consumed one
    ],
)
def test_the_worker_is_restarted_only_when_beat_runs_and_no_canary_is_consumed(
    canary, beat, worker_started, restart
):
    state = marks(canary=canary, beat=beat, worker_started=worker_started)
    assert worker_needs_restart(marks=state, now=NOW, restart_after=120) is restart


def test_the_canary_check_names_each_queue_that_takes_nothing():
    fresh, stale = marks(canary=20, beat=5), marks(canary=95, beat=5)
    by_queue = dict.fromkeys(QUEUES, fresh) | {ROUTING: stale, SUMMARIES: stale}
    state = canaries_state(marks=by_queue, now=NOW, stale_after=90)
    assert state["ok"] is False
    assert state["stalled_queues"] == [ROUTING, SUMMARIES]
    assert "on routing, summaries" in state["error"]
    assert state["queues"][NOTIFICATIONS]["ok"] is True
    assert canaries_state(marks=dict.fromkeys(QUEUES, fresh), now=NOW, stale_after=90)["ok"] is True
    by_queue[ROUTING] = marks(canary=121, beat=5)
    assert queues_needing_restart(marks=by_queue, now=NOW, restart_after=120) == [ROUTING]


# --- /healthz in each state ---------------------------------------------------------------------


def monitor() -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {django_settings.HEALTHZ_TOKEN}"}


def record(*, queues: tuple[str, ...] = QUEUES, **ages: int) -> None:
    """Heartbeat rows, as ages in seconds before NOW: ``canary`` and ``worker_started`` for each
    of ``queues`` ("canary:<queue>", "worker-started:<queue>"), the others by name."""
    for name, age in ages.items():
        names = [name.replace("_", "-")]
        if name in ("canary", "worker_started"):
            names = [f"{names[0]}:{queue}" for queue in queues]
        for row in names:
            Heartbeat.objects.update_or_create(name=row, defaults={"beat_at": ago(age)})


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def healthz(client, status: int) -> dict[str, Any]:
    """/healthz's checks as a monitoring system reads them, with the expected HTTP status."""
    response = client.get("/healthz", **monitor())
    assert response.status_code == status
    return response.json()


@pytest.mark.django_db
def test_healthz_is_green_when_the_canary_and_beat_are_fresh(client, at_now):
    record(worker=3, canary=25, beat=5, worker_started=3600, beat_started=3600)
    body = healthz(client, 200)
    assert body["canary"] == {
        "ok": True,
        "queues": {
            queue: {"ok": True, "last_consumed_at": ago(25).isoformat(), "age_seconds": 25}
            for queue in QUEUES
        },
    }
    assert body["beat"]["ok"] is True


@pytest.mark.django_db
def test_healthz_fails_on_a_stale_canary_while_the_worker_heartbeat_is_fresh(client, at_now):
    # The drill's state: the worker alive and beating, beat sending, nothing consumed.
    record(worker=3, canary=25, beat=5, worker_started=3600, beat_started=3600)
    record(canary=95, queues=(NOTIFICATIONS,))
    body = healthz(client, 503)
    assert body["status"] == "fail"
    assert body["worker"]["ok"] is True
    assert body["beat"]["ok"] is True
    assert body["canary"]["ok"] is False
    # The queue that takes nothing is named; the others are fine.
    assert body["canary"]["stalled_queues"] == [NOTIFICATIONS]
    assert "tasks are not being taken from that queue" in body["canary"]["error"]
    assert body["canary"]["queues"][ROUTING]["ok"] is True
    assert client.get("/healthz").json() == {"status": "fail"}


@pytest.mark.django_db
def test_healthz_fails_on_a_stale_beat_and_names_it(client, at_now):
    record(worker=3, canary=95, beat=95, worker_started=3600, beat_started=3600)
    body = healthz(client, 503)
    assert body["beat"]["ok"] is False
    assert "beat has stopped" in body["beat"]["error"]
    assert body["canary"]["ok"] is False  # nothing was sent to consume


@pytest.mark.django_db
def test_healthz_is_green_during_the_start_up_grace(client, at_now):
    record(worker=1, beat=1, worker_started=5, beat_started=1)
    assert healthz(client, 200)["canary"]["queues"][ROUTING] == {
        "ok": True,
        "starting": True,
        "started_seconds_ago": 1,
    }


@pytest.mark.django_db
def test_healthz_fails_when_the_grace_ends_without_a_canary(client, at_now, settings):
    settings.CANARY_STALE_SECONDS = 60
    record(worker=1, beat=1, worker_started=61, beat_started=61)
    body = healthz(client, 503)
    assert body["canary"]["queues"][ROUTING] == {
        "ok": False,
        "error": "no canary task consumed yet",
    }
    assert body["canary"]["stalled_queues"] == list(QUEUES)


@pytest.mark.django_db
def test_healthz_fails_on_a_queue_no_worker_consumes(client, at_now):
    # The summaries worker never started: no grace for its queue, and no canary.
    consumed = tuple(q for q in QUEUES if q != SUMMARIES)
    record(worker=1, canary=10, beat=1, beat_started=3600, worker_started=3600, queues=consumed)
    body = healthz(client, 503)
    assert body["canary"]["stalled_queues"] == [SUMMARIES]


# --- The marks' writers -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_canary_task_and_beats_hooks_record_their_marks(monkeypatch):
    # The writers close obsolete connections first, which would close the test's transaction.
    monkeypatch.setattr("django.db.close_old_connections", lambda: None)
    before = timezone.now()
    canary_task.run(ROUTING)
    _beat_started()
    written = pipeline_marks()
    assert written[ROUTING].worker_started_at is None
    routing = written[ROUTING]
    assert all(t is not None and t >= before for t in (routing.canary_at, routing.beat_at))
    assert routing.beat_started_at is not None and routing.beat_started_at >= before
    # The canary of one queue says nothing of another.
    assert written[NOTIFICATIONS].canary_at is None
    Heartbeat.objects.filter(name="beat").update(beat_at=before - timedelta(minutes=5))
    _beat_mark(sender="referrals.escalate")  # another task: no mark
    assert pipeline_marks()[ROUTING].beat_at == before - timedelta(minutes=5)
    _beat_mark(sender="core.canary")
    beat_at = pipeline_marks()[ROUTING].beat_at
    assert beat_at is not None and beat_at >= before


def test_beat_sends_a_canary_to_each_queue_every_30_seconds_and_drops_it_before_it_reads_stale():
    from spoc.celery import app

    canaries = [job for job in app.conf.beat_schedule.values() if job["task"] == "core.canary"]
    assert sorted(job["args"] for job in canaries) == sorted((queue,) for queue in QUEUES)
    for job in canaries:
        assert job["options"]["queue"] == queue_name(job["args"][0])
        assert job["schedule"] == 30.0
        assert job["options"]["expires"] < django_settings.CANARY_STALE_SECONDS


# --- check_pipeline and runhub ------------------------------------------------------------------


@pytest.mark.django_db
def test_check_pipeline_passes_and_fails_on_the_restart_threshold(at_now, settings):
    settings.WORKER_RESTART_AFTER_SECONDS = 120
    record(canary=100, beat=5, worker_started=3600, beat_started=3600)
    out = StringIO()
    call_command("check_pipeline", "worker", stdout=out)  # stale for /healthz, not yet restarted
    call_command("check_pipeline", "beat", stdout=out)
    assert "worker: ok" in out.getvalue() and "beat: ok" in out.getvalue()
    record(canary=121)
    with pytest.raises(CommandError, match="no canary task consumed for over 120 s") as stalled:
        call_command("check_pipeline", "worker")
    assert stalled.value.returncode == 3  # stopped: the compose healthcheck ends the worker
    assert RunHub()._worker_stalled() is True
    # Each compose worker checks only its own queues.
    record(canary=5, queues=(NOTIFICATIONS, SUMMARIES))
    call_command("check_pipeline", "worker", "--queues", "notifications,summaries", stdout=out)
    with pytest.raises(CommandError, match="on routing-urgent, routing while beat runs"):
        call_command("check_pipeline", "worker", "--queues", "routing-urgent,routing")
    with pytest.raises(CommandError, match="unknown queues"):
        call_command("check_pipeline", "worker", "--queues", "routing,celery")
    record(beat=91)
    with pytest.raises(CommandError, match="beat has stopped"):
        call_command("check_pipeline", "beat")
    # With beat stopped the worker is not blamed, nor restarted.
    record(beat=121)
    call_command("check_pipeline", "worker", stdout=StringIO())
    assert RunHub()._worker_stalled() is False


def test_check_pipeline_exits_1_when_the_marks_cannot_be_read(monkeypatch):
    def unreadable() -> PipelineMarks:
        raise RuntimeError("database down")

    monkeypatch.setattr("spoc.core.management.commands.check_pipeline.pipeline_marks", unreadable)
    with pytest.raises(CommandError, match="unreadable") as failed:
        call_command("check_pipeline", "worker")
    assert failed.value.returncode == 1  # not a stopped worker: the compose check ends nothing


def test_runhub_restarts_nothing_when_the_database_cannot_be_read(monkeypatch):
    def unreadable() -> PipelineMarks:
        raise RuntimeError("database down")

    monkeypatch.setattr("spoc.home.management.commands.runhub.pipeline_marks", unreadable)
    command = RunHub(stderr=StringIO())
    assert command._worker_stalled() is False
