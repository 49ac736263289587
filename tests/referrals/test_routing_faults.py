"""Routing's delivery guarantees, proved with real faults (docs/design.md §6, §11).

Every test runs a `redis-server` of its own (started, stopped and paused here), real `celery
worker` processes on the test database, and submits through the services the call screen uses.
Faults are real: Redis stopped or stalled (SIGSTOP) at submit, a worker SIGKILLed while routing,
a task delivered twice at once, a queued task lost by a Redis restart. No hooks in the code: a
worker is held inside routing by a row lock taken from another database connection.

Bounds are generous (seconds); the figures printed are measurements, not assertions.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
import redis
import time_machine
from django.db import connection
from django.utils import timezone

from calls.models import Call
from calls.services.intake import CallSubmitResult
from referrals.models import Referral, ReferralEvent
from referrals.services import enqueue
from referrals.services.enqueue import routing_task_send
from referrals.services.sweeper import routing_sweep
from referrals.tasks import route_referral_task
from referrals.transitions import ReferralStatus
from services.codes import Need, Priority, ServiceType
from spoc.celery import _beat_mark
from spoc.core.models import Heartbeat
from spoc.core.pipeline import CANARY_TASK
from spoc.core.queues import QUEUES, ROUTING, ROUTING_URGENT, queue_name
from spoc.core.tasks import canary_task, heartbeat_task
from tests.conftest import broker_at, wait_for
from tests.referrals.conftest import drained
from tests.referrals.factories import PatientFactory, ReferralFactory
from tests.services.directory_fixtures import make_service

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROUTING_KINDS = (ReferralEvent.Kind.ROUTED, ReferralEvent.Kind.UNROUTABLE)
# A killed worker's task is handed out again after this many seconds (the production default is
# longer than the hard time limit); workers look for such tasks every second.
SHORT_VISIBILITY = {"CELERY_VISIBILITY_TIMEOUT": "4", "BROKER_UNACKED_RESTORE_SECONDS": "1"}


# --- A Redis of the tests' own ------------------------------------------------------------------


class RedisServer:
    """A `redis-server` process on a free port, without persistence: stopping it loses its data,
    as a crashed broker without persistence would."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is missing: install the redis-server package.")
        self.binary = binary
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False

    def is_down(self) -> bool:
        """Stopped or stalled: it will not answer a command now."""
        return self.proc is None or self.paused

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                return bool(self.client().ping())
            except redis.RedisError:
                return False

        wait_for(answers, timeout=10, interval=0.05)

    def stop(self) -> None:
        self.resume()
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def pause(self) -> None:
        """Stall it: the port still accepts connections, nothing answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.proc is not None and self.paused:
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis(redis_server: RedisServer, settings: Any) -> Iterator[RedisServer]:
    """The module's Redis, running and empty; this process publishes to it during the test, and
    keeps its cache there (the routing marks, as in production: they share the queue's fate)."""
    redis_server.resume()
    if redis_server.proc is None:
        redis_server.start()
    redis_server.client().flushall()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
            "KEY_PREFIX": "spoc",
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
    }
    with broker_at(redis_server.url):
        yield redis_server
    redis_server.resume()


@pytest.fixture
def start_worker(
    own_redis: RedisServer, start_celery_worker: Callable[..., subprocess.Popen[bytes]]
) -> Callable[..., subprocess.Popen[bytes]]:
    """start_worker(concurrency=1, env=None): a real worker on the tests' own Redis."""

    def start(
        *, concurrency: int = 1, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        return start_celery_worker(broker_url=own_redis.url, concurrency=concurrency, env=env)

    return start


# --- Helpers ------------------------------------------------------------------------------------


@pytest.fixture
def directory() -> None:
    # Open around the clock, so the answers do not depend on when the tests run.
    make_service("Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True)
    make_service("Carers Centre", ServiceType.CARER_SUPPORT, open_24_7=True)
    make_service("Day Hospice", ServiceType.DAY_HOSPICE, open_24_7=True)
    make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=())


@pytest.fixture
def submit(submit_call: Callable[..., CallSubmitResult]) -> Callable[..., CallSubmitResult]:
    """submit(*needs): the handler's call at P2 for a patient of its own, one referral a need."""

    def submit_needs(*needs: str) -> CallSubmitResult:
        patient = PatientFactory(postcode="L9 7AL", given_name="Siân", family_name="Nguyễn")
        return submit_call(patient, *needs)

    return submit_needs


def awaiting_referral(**fields: Any) -> Referral:
    """A committed referral awaiting routing, whose routing was never enqueued."""
    return cast(Referral, ReferralFactory(**fields))


def statuses(ids: list[int]) -> set[str]:
    return set(Referral.objects.filter(pk__in=ids).values_list("status", flat=True))


def routing_events(referral_id: int) -> int:
    return ReferralEvent.objects.filter(referral_id=referral_id, kind__in=ROUTING_KINDS).count()


def worker_ready(name: str = "ready") -> None:
    """The worker consumes and its pool process reaches the database."""
    drained(name)


class RowLock:
    """``SELECT ... FOR UPDATE`` on a referral from a connection of its own, so that routing,
    which locks the row first, waits inside ``referral_route`` until ``release()``."""

    def __init__(self, referral_id: int) -> None:
        db = connection.settings_dict
        self.conn = psycopg.connect(
            dbname=db["NAME"],
            user=db["USER"],
            password=db["PASSWORD"] or None,
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
        )
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {Referral._meta.db_table} WHERE id = %s FOR UPDATE", [referral_id]
            )
            self.pid = self.conn.info.backend_pid

    def waiters(self) -> list[int]:
        """Sessions of the test database waiting for a lock: only the workers' sessions can be,
        and they queue for this row (the second waits for the first, not for this connection).
        Read through Django's autocommit connection: a transaction sees a frozen snapshot."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            return [row[0] for row in cursor.fetchall()]

    def wait_for_waiters(self, count: int) -> list[int]:
        return wait_for(
            lambda: (found := self.waiters()) and len(found) >= count and found,
            timeout=30,
            interval=0.05,
        )

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


@pytest.fixture
def row_locks() -> Iterator[Callable[[int], RowLock]]:
    taken: list[RowLock] = []

    def take(referral_id: int) -> RowLock:
        lock = RowLock(referral_id)
        taken.append(lock)
        return lock

    yield take
    for lock in taken:
        lock.release()


def sessions_settled(pids: list[int]) -> bool:
    """Every one of these database sessions has ended its transaction (idle) or is gone."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) AND state <> 'idle'", [pids]
        )
        return cursor.fetchone()[0] == 0


def pool_children(main_pid: int) -> list[int]:
    """The worker's pool processes: the children of its main process (any of its threads)."""
    children: list[int] = []
    for task in Path(f"/proc/{main_pid}/task").iterdir():
        children += [int(pid) for pid in (task / "children").read_text().split()]
    return children


def sweep_now(settings: Any) -> int:
    settings.ROUTING_SWEEP_AFTER_SECONDS = 0
    return routing_sweep()


# --- 1. Commit -> queued ------------------------------------------------------------------------


def test_committed_referrals_are_queued_by_the_worker_as_they_commit(
    submit, directory, start_worker
):
    start_worker()
    worker_ready()
    latencies: list[float] = []
    for round_ in range(5):
        started = time.monotonic()
        result = submit(Need.URGENT_HOME_VISIT, Need.CARER_SUPPORT)
        ids = [r.pk for r in result.referrals]

        def queued(ids: list[int] = ids) -> bool:
            return statuses(ids) == {ReferralStatus.QUEUED}

        wait_for(queued, timeout=30, interval=0.01)
        latencies.append(time.monotonic() - started)
        # Exactly one routing each, to the team that serves the need.
        assert [routing_events(pk) for pk in ids] == [1, 1], f"round {round_}"
    db_side = [
        (routed_at - created_at).total_seconds()
        for created_at, routed_at in Referral.objects.values_list("created_at", "routed_at")
        if routed_at is not None
    ]
    print(
        f"\nsubmit -> queued (wall, 2 needs): {sorted(round(s, 3) for s in latencies)} s; "
        f"created -> routed (database): max {max(db_side):.3f} s"
    )
    # How fast is bench/routing.py's to measure (docs/performance.md); here, what happened: each
    # referral was queued by its own task, with no sweep (this test runs no beat).
    assert set(Referral.objects.values_list("team__name", flat=True)) == {
        "Community Palliative Care team",
        "Carers Centre team",
    }


# --- 2. Redis stopped or stalled at submit ------------------------------------------------------


@pytest.mark.parametrize("fault", ["stopped", "stalled"])
def test_a_broker_fault_at_submit_saves_the_call_and_routing_follows_when_redis_returns(
    fault, submit, directory, own_redis, start_worker, settings, client, monkeypatch, caplog
):
    settings.ROUTING_ENQUEUE_PAUSE_SECONDS = 10  # the production default
    monkeypatch.setattr(enqueue.BROKER_FAULT, "at", None)  # no fault seen yet in this process
    caplog.set_level(logging.WARNING, logger="referrals.services.enqueue")
    heartbeat_task.apply_async(("connection-in-the-pool",), queue=queue_name(ROUTING))
    if fault == "stopped":
        own_redis.stop()
    else:
        own_redis.pause()

    started = time.monotonic()
    result = submit(Need.URGENT_HOME_VISIT, Need.CARER_SUPPORT, Need.DAY_THERAPY)
    elapsed = time.monotonic() - started
    print(f"\nsubmit with Redis {fault}: {elapsed:.3f} s (3 needs)")
    # Redis is still down: the call was saved without waiting for it to return.
    assert own_redis.is_down()
    # One publish was tried and failed; the other two waited for nothing.
    assert caplog.text.count("could not be enqueued") == 1
    assert caplog.text.count("the broker failed moments ago") == 2
    assert result.created is True
    ids = [r.pk for r in result.referrals]
    assert Call.objects.filter(pk=result.call.pk).exists()
    assert statuses(ids) == {ReferralStatus.AWAITING_ROUTING}
    assert len(ids) == 3

    # The backlog shows on /healthz once it is older than the alert age (shortened here).
    settings.ROUTING_ALERT_AFTER_SECONDS = 0
    body = client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {settings.HEALTHZ_TOKEN}").json()
    assert body["routing"]["ok"] is False
    assert body["routing"]["waiting_over_alert_age"] == 3

    if fault == "stopped":
        own_redis.start()
    else:
        own_redis.resume()
    start_worker()
    # The sweeper (the beat job, called here with its age shortened) enqueues what was missed.
    assert sweep_now(settings) == 3
    wait_for(lambda: statuses(ids) == {ReferralStatus.QUEUED}, timeout=30)
    drained("after-sweep")
    # A publish that timed out against the stalled Redis may still have reached it when it woke:
    # that is a second delivery, and it changes nothing.
    assert [routing_events(pk) for pk in ids] == [1, 1, 1]
    assert set(Referral.objects.filter(pk__in=ids).values_list("routing_attempt", flat=True)) == {1}
    assert (
        client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {settings.HEALTHZ_TOKEN}").json()[
            "routing"
        ]["ok"]
        is True
    )


# --- 3. A worker killed while routing -----------------------------------------------------------


def test_a_worker_killed_mid_task_leaves_the_task_to_be_redelivered_and_routed_once(
    directory, start_worker, row_locks
):
    first = start_worker(env=SHORT_VISIBILITY)
    worker_ready()
    referral = awaiting_referral()
    lock = row_locks(referral.pk)
    route_referral_task.delay(referral.pk)
    # The worker is inside referral_route, waiting for the row.
    stuck = lock.wait_for_waiters(1)

    # SIGKILL the whole worker: main process and pool child. Its task was never acknowledged.
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    lock.release()
    # The killed process's database session ends once it finds its client gone.
    wait_for(lambda: sessions_settled(stuck), timeout=30)
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.AWAITING_ROUTING

    killed_at = time.monotonic()
    start_worker(env=SHORT_VISIBILITY)
    wait_for(
        lambda: Referral.objects.get(pk=referral.pk).status == ReferralStatus.QUEUED, timeout=40
    )
    print(
        f"\nredelivered and routed {time.monotonic() - killed_at:.1f} s after the kill "
        f"(visibility timeout 4 s)"
    )
    drained("after-redelivery")
    assert routing_events(referral.pk) == 1
    assert Referral.objects.get(pk=referral.pk).routing_attempt == 1


def test_a_pool_process_killed_mid_task_puts_the_task_back_at_once(
    directory, start_worker, row_locks
):
    # Default visibility timeout (150 s): only the rejection on worker loss can bring it back.
    worker = start_worker()
    worker_ready()
    referral = awaiting_referral()
    lock = row_locks(referral.pk)
    route_referral_task.delay(referral.pk)
    stuck = lock.wait_for_waiters(1)

    [child] = pool_children(worker.pid)
    os.kill(child, signal.SIGKILL)
    # The main process puts the task back on the queue, and a new pool process takes it: it waits
    # for the row again, behind the killed process's session.
    wait_for(lambda: len(set(lock.waiters()) - set(stuck)) >= 1, timeout=30)
    lock.release()
    wait_for(
        lambda: Referral.objects.get(pk=referral.pk).status == ReferralStatus.QUEUED, timeout=30
    )
    drained("after-requeue")
    assert routing_events(referral.pk) == 1
    assert Referral.objects.get(pk=referral.pk).routing_attempt == 1
    assert worker.poll() is None


def test_a_killed_workers_task_is_handed_out_again_without_waiting_the_visibility_timeout(
    directory, own_redis, start_worker, row_locks
):
    # The production visibility timeout (150 s): only the dead owner's expired liveness
    # (spoc/core/broker.py) can bring the task back within this test's bounds.
    first = start_worker()
    worker_ready()
    referral = awaiting_referral()
    lock = row_locks(referral.pk)
    routing_task_send(referral.pk, priority=referral.priority)
    stuck = lock.wait_for_waiters(1)
    [(tag, owner)] = own_redis.client().hgetall("unacked_owner").items()

    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    lock.release()
    wait_for(lambda: sessions_settled(stuck), timeout=30)
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.AWAITING_ROUTING

    second = start_worker()
    # Handed out again by the new worker once the killed one's liveness (15 s) has expired,
    # well before the visibility timeout, and routed once.
    wait_for(
        lambda: Referral.objects.get(pk=referral.pk).status == ReferralStatus.QUEUED, timeout=60
    )
    drained("after-orphan")
    assert routing_events(referral.pk) == 1
    # Nothing is left held by the dead worker, and the new one is not taken for dead.
    assert own_redis.client().hget("unacked_owner", tag) is None
    assert second.poll() is None
    assert own_redis.client().get(f"unacked_owner_alive:{owner.decode()}") is None


# --- 4. The same task delivered twice -----------------------------------------------------------


def test_the_same_task_delivered_twice_at_once_routes_once(directory, start_worker, row_locks):
    start_worker(concurrency=2)
    worker_ready()
    referral = awaiting_referral()
    lock = row_locks(referral.pk)
    route_referral_task.apply_async((referral.pk,), task_id="route-twice")
    route_referral_task.apply_async((referral.pk,), task_id="route-twice")
    # Both deliveries are inside referral_route at the same time, waiting for the row.
    both = lock.wait_for_waiters(2)
    assert len(both) == 2
    lock.release()
    wait_for(
        lambda: Referral.objects.get(pk=referral.pk).status == ReferralStatus.QUEUED, timeout=30
    )
    wait_for(lambda: sessions_settled(both), timeout=30)
    assert routing_events(referral.pk) == 1
    assert Referral.objects.get(pk=referral.pk).routing_attempt == 1


# --- 5. A task lost by the broker ---------------------------------------------------------------


def test_the_sweeper_recovers_a_referral_whose_task_the_broker_lost(
    submit, directory, own_redis, start_worker, settings
):
    result = submit(Need.URGENT_HOME_VISIT)
    [referral] = result.referrals
    # The task reached Redis (no worker yet), on the queue of P1-P2 routing ...
    assert own_redis.client().llen(queue_name(ROUTING_URGENT)) == 1
    # ... and Redis restarts without it.
    own_redis.stop()
    own_redis.start()
    start_worker()
    worker_ready()
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.AWAITING_ROUTING

    assert sweep_now(settings) == 1
    wait_for(
        lambda: Referral.objects.get(pk=referral.pk).status == ReferralStatus.QUEUED, timeout=30
    )
    assert Referral.objects.filter(
        pk=referral.pk, team__name="Community Palliative Care team"
    ).exists()
    assert routing_events(referral.pk) == 1


# --- 6. P1-P2 routing jumps a backlog -----------------------------------------------------------


def test_p1_p2_routing_is_taken_before_a_backlog_of_p3_p5(directory, start_worker, row_locks):
    start_worker()  # one process: the order it takes tasks in is the order they are routed
    worker_ready()
    backlog = [awaiting_referral(priority=Priority.P4) for _ in range(12)]
    lock = row_locks(backlog[0].pk)
    for referral in backlog:
        routing_task_send(referral.pk, priority=referral.priority)
    # The worker is held inside the first routing; eleven P4 tasks wait behind it.
    lock.wait_for_waiters(1)
    urgent = awaiting_referral(priority=Priority.P1)
    routing_task_send(urgent.pk, priority=urgent.priority)
    lock.release()
    drained("after-backlog")
    order = list(
        Referral.objects.filter(pk__in=[r.pk for r in [*backlog, urgent]])
        .order_by("routed_at")
        .values_list("pk", flat=True)
    )
    # Routed next, ahead of the eleven that were queued before it.
    assert order[:2] == [backlog[0].pk, urgent.pk]
    assert statuses(order) == {ReferralStatus.QUEUED}


# --- 7. Redis stalled while the worker is busy --------------------------------------------------


def beat_sends_canaries() -> None:
    """What beat does every 30 s: its mark, then a canary to each queue (spoc/celery.py); a
    publish that the broker refuses is logged by beat and lost."""
    _beat_mark(sender=CANARY_TASK)
    for queue in QUEUES:
        try:
            canary_task.apply_async((queue,), queue=queue_name(queue))
        except Exception:
            logging.getLogger(__name__).info("canary to %s not sent: broker down", queue)


def monitor_reads(client: Any) -> dict[str, Any]:
    return client.get("/healthz", HTTP_AUTHORIZATION="Bearer test-healthz-token").json()


def test_a_redis_stall_while_the_worker_is_busy_turns_the_canary_red_and_the_worker_recovers(
    directory, own_redis, start_worker, row_locks, client, settings
):
    # The drill: a 20-second Redis stall while the worker is busy, many referrals queued.
    worker = start_worker(concurrency=2)
    worker_ready()
    Heartbeat.objects.create(name="beat-started", beat_at=timezone.now())
    beat_sends_canaries()
    wait_for(
        lambda: Heartbeat.objects.filter(name__startswith="canary:").count() == len(QUEUES),
        timeout=30,
    )
    referrals = [
        awaiting_referral(priority=Priority.P2 if i % 3 == 0 else Priority.P4) for i in range(90)
    ]
    # Both worker processes are inside routing (held on a row lock), the rest queued behind.
    first, second = referrals[0], referrals[3]
    locks = [row_locks(first.pk), row_locks(second.pk)]
    for referral in referrals:
        routing_task_send(referral.pk, priority=referral.priority)
    locks[0].wait_for_waiters(2)

    own_redis.pause()
    stalled_at = time.monotonic()
    # The two routings finish while Redis is stalled: their acknowledgements fail.
    for lock in locks:
        lock.release()
    while time.monotonic() - stalled_at < 20:
        beat_sends_canaries()  # each publish gives up after the 1 s socket timeout
        time.sleep(1)
    body = monitor_reads(client)
    # Alive: its heartbeat goes to the database, not through Redis.
    assert body["worker"]["ok"] is True
    assert body["broker"]["ok"] is False
    # The canary check, on its own clock: had the stall lasted the stale age, no queue would
    # have had a canary consumed since it began.
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.CANARY_STALE_SECONDS - 15), tick=False
    ):
        beat_sends_canaries()  # beat is alive (its mark is fresh): the worker is blamed
        body = monitor_reads(client)
    assert body["beat"]["ok"] is True
    assert body["canary"]["ok"] is False
    assert body["canary"]["stalled_queues"] == list(QUEUES)

    own_redis.resume()
    resumed = timezone.now()
    # The worker recovers by itself (no restart: the same process) and routes every referral.
    ids = [r.pk for r in referrals]
    wait_for(lambda: statuses(ids) == {ReferralStatus.QUEUED}, timeout=120, interval=0.5)
    assert worker.poll() is None
    beat_sends_canaries()
    wait_for(
        lambda: (
            Heartbeat.objects.filter(name__startswith="canary:", beat_at__gte=resumed).count()
            == len(QUEUES)
        ),
        timeout=60,
    )
    body = monitor_reads(client)
    assert body["canary"]["ok"] is True and body["broker"]["ok"] is True
    drained("after-stall")
    assert {routing_events(pk) for pk in ids} == {1}
