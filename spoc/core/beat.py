"""Exactly one beat: a second `celery beat`, started by mistake or as a standby, sends nothing
while another holds the lock (docs/operations.md, "Exactly one beat").

The lock is a Redis key with a time to live (BEAT_LOCK_SECONDS), renewed by its holder at least
every third of that. A beat that does not hold it tries again every BEAT_STANDBY_SECONDS and
sends nothing meanwhile; one whose renewal fails (another took the lock after this one stalled
for longer than the time to live, or Redis cannot be reached) stops sending at once. A holder
that stops cleanly gives the lock up, so a standby takes over within BEAT_STANDBY_SECONDS; one
that dies keeps it until it expires.

Each send is also recorded in Redis (the entry's name and when), and a beat that takes the lock
first moves its own schedule to those times: the new holder carries on where the old one
stopped, so a task is never sent twice within its interval, at a take-over either.

Without REDIS_URL (the embedded default, one machine and one `runhub`) there is no lock.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any

import redis
from celery.beat import PersistentScheduler
from django.conf import settings
from redis.exceptions import LockError, RedisError

logger = logging.getLogger(__name__)


def beat_keys() -> tuple[str, str]:
    """The lock's key and the key of the last sends (a hash), with the queues' prefix, so that
    two test runs on one Redis each have their own."""
    prefix = f"spoc:{settings.TASK_QUEUE_PREFIX}beat"
    return f"{prefix}:lock", f"{prefix}:last-sent"


class SingleBeatScheduler(PersistentScheduler):
    """Celery's PersistentScheduler (the schedule file of --schedule) that sends only while it
    holds the beat lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._redis: redis.Redis | None = None
        self._lock: Any = None
        self._holding = False
        super().__init__(*args, **kwargs)

    def _lock_get(self) -> Any:
        if self._lock is None and settings.REDIS_URL:
            self._redis = redis.Redis.from_url(
                settings.REDIS_URL,
                decode_responses=True,
                socket_timeout=settings.BROKER_SOCKET_TIMEOUT_SECONDS,
                socket_connect_timeout=settings.BROKER_SOCKET_TIMEOUT_SECONDS,
            )
            # thread_local=False: the token is the scheduler's, whatever thread renews it.
            self._lock = self._redis.lock(
                beat_keys()[0],
                timeout=settings.BEAT_LOCK_SECONDS,
                blocking=False,
                thread_local=False,
            )
        return self._lock

    def holds_lock(self) -> bool:
        """Takes the lock, or renews it when this beat holds it already; False when another beat
        holds it or Redis cannot be reached (then nothing is sent: it could not be anyway)."""
        lock = self._lock_get()
        if lock is None:
            return True
        try:
            if self._holding:
                lock.reacquire()
                return True
            if lock.acquire(blocking=False):
                self._holding = True
                self._carry_on_from_last_sends()
                logger.info("beat: took the beat lock; sending the schedule")
                return True
        except LockError:
            self._holding = False
            logger.warning("beat: another beat holds the beat lock now; this one waits")
        except RedisError as exc:
            self._holding = False
            logger.warning("beat: Redis unreachable (%s); sending nothing", exc.__class__.__name__)
        return False

    def _carry_on_from_last_sends(self) -> None:
        """Move each entry's last run to its last send by any beat, if later than its own."""
        assert self._redis is not None
        sent = self._redis.hgetall(beat_keys()[1])
        for name, entry in self.schedule.items():
            when = sent.get(name)
            if when is None:
                continue
            at = datetime.fromisoformat(str(when))
            if entry.last_run_at is None or at > entry.last_run_at:
                entry.last_run_at = at
        self._heap = None  # rebuilt from the moved times at the next tick

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.holds_lock():
            return float(settings.BEAT_STANDBY_SECONDS)
        delay: float = super().tick(*args, **kwargs)
        return min(delay, settings.BEAT_LOCK_SECONDS / 3)

    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        super().apply_entry(entry, producer=producer)
        sent_at = self.schedule[entry.name].last_run_at
        if self._redis is None or sent_at is None:
            return
        try:
            self._redis.hset(beat_keys()[1], entry.name, sent_at.isoformat())
        except RedisError as exc:
            logger.warning("beat: could not record the send of %s (%s)", entry.name, exc)

    def close(self) -> None:
        super().close()
        if self._holding and self._lock is not None:
            # Expired, or Redis unreachable: then it ends by itself.
            with contextlib.suppress(LockError, RedisError):
                self._lock.release()
            self._holding = False
