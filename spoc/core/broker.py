"""Kombu's Redis transport, with acknowledgements that never cost the worker a slot
(docs/architecture.md, "Celery and the broker").

A worker takes at most ``concurrency x prefetch`` tasks at once: Kombu counts each task it has
handed out until the task is acknowledged. Kombu's Redis acknowledgement removes the task from
Redis's "unacknowledged" index first and forgets it locally second, so an acknowledgement that
fails (Redis stalled: the socket times out) leaves the task counted for ever. After a stall
while busy, every slot was held by a task already done; the worker stayed alive, its heartbeat
fresh, and took nothing more (the fault drill in docs/operations.md, "Recovery after a fault").

Here the local count is released whatever Redis answers, and a removal that failed is retried
with the next acknowledgement. A removal that is never made leaves the task in the index, so
Redis hands it out again after the visibility timeout: a second run, which every task allows
(CONTRIBUTING.md, "How we write code"). The failure is still raised, so Celery logs it.

A worker killed outright (SIGKILL, the machine lost) leaves the tasks it held in that index, and
Kombu hands them out again only after the visibility timeout (150 s), which must outlast any
task still running. So each task taken is also recorded with the worker that took it, and each
worker keeps a key saying it is alive, refreshed as it looks for tasks to hand out again (every
BROKER_UNACKED_RESTORE_SECONDS) and as it takes one, expiring after three such periods. A task
whose worker's key has expired, and which was taken longer ago than that, is handed out again at
once by any other worker (``_restore_orphans``): a killed routing worker's referrals are routed
within seconds of a worker's return, not minutes. A worker that was only paused (SIGSTOP, a
stalled Redis) may then run such a task a second time, which every task allows.

Settings select this transport when REDIS_URL is set (``CELERY_BROKER_TRANSPORT``); the embedded
filesystem broker keeps Kombu's own.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps

logger = logging.getLogger(__name__)

# Delivery tag -> the worker that took it (beside Kombu's "unacked" hash and index).
OWNERS_KEY = "unacked_owner"
# Set, with an expiry, while the worker it names is alive.
ALIVE_KEY = "unacked_owner_alive:{owner}"
# A worker is alive while it refreshed its key within this many restore periods.
ALIVE_PERIODS = 3


class QoS(kombu_redis.QoS):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Tags whose removal from Redis's index failed; retried with the next acknowledgement.
        self._unremoved: set[str] = set()
        # Unique to this consumer: a worker restarted in the same container has a new one.
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    @property
    def _alive_seconds(self) -> int:
        channel: Any = self.channel  # Kombu's Redis channel; the stubs know a virtual one
        return max(5, round(channel.unacked_restore_interval * ALIVE_PERIODS))

    def append(self, message: Any, delivery_tag: str) -> None:
        """Kombu's (the task into the "unacked" hash and index), with its owner and the owner's
        liveness in the same round trip."""
        delivery = message.delivery_info
        raw = dumps([message._raw, delivery["exchange"], delivery["routing_key"]])
        with self.pipe_or_acquire() as pipe:
            pipe.zadd(self.unacked_index_key, {delivery_tag: time.time()})
            pipe.hset(self.unacked_key, delivery_tag, raw)
            pipe.hset(OWNERS_KEY, delivery_tag, self._owner)
            pipe.set(ALIVE_KEY.format(owner=self._owner), 1, ex=self._alive_seconds)
            pipe.execute()
        virtual.QoS.append(self, message, delivery_tag)

    def _remove_from_indices(self, delivery_tag: str, pipe: Any = None) -> Any:
        # Acknowledged, rejected or handed out again: its owner goes with it.
        removal = super()._remove_from_indices(delivery_tag, pipe)  # type: ignore[misc]
        return removal.hdel(OWNERS_KEY, delivery_tag)

    def restore_visible(self, start: int = 0, num: int = 10, interval: int = 10) -> None:
        super().restore_visible(start, num, interval)
        # Kombu's throttle: it scanned only on this call's turn, and so do we.
        count: int = self._vrestore_count  # type: ignore[attr-defined]  # Kombu's, no stub
        if not (count - 1) % (interval or 1):
            self._restore_orphans()

    def _restore_orphans(self) -> None:
        """Refresh this worker's liveness, then hand out again the tasks of workers that are no
        longer alive, taken longer ago than the liveness lasts."""
        alive_seconds = self._alive_seconds
        channel: Any = self.channel
        with channel.conn_or_acquire() as client:
            client.set(ALIVE_KEY.format(owner=self._owner), 1, ex=alive_seconds)
            owners = {
                bytes_to_str(t): bytes_to_str(o) for t, o in client.hgetall(OWNERS_KEY).items()
            }
            if not owners:
                return
            distinct = sorted(set(owners.values()))
            alive = client.mget([ALIVE_KEY.format(owner=owner) for owner in distinct])
            dead = {owner for owner, key in zip(distinct, alive, strict=True) if key is None}
            orphans = [tag for tag, owner in owners.items() if owner in dead]
            if not orphans:
                return
            with client.pipeline() as pipe:
                for tag in orphans:
                    pipe.zscore(self.unacked_index_key, tag)
                taken_at = pipe.execute()
            ceiling = time.time() - alive_seconds
            try:
                with kombu_redis.Mutex(client, self.unacked_mutex_key, self.unacked_mutex_expire):
                    for tag, taken in zip(orphans, taken_at, strict=True):
                        if taken is None:  # acknowledged meanwhile, or a leftover
                            client.hdel(OWNERS_KEY, tag)
                        elif taken <= ceiling:
                            logger.warning(
                                "Task %s was held by worker %s, which is gone: handed out again.",
                                tag,
                                owners[tag],
                            )
                            self.restore_by_tag(tag, client)
            except kombu_redis.MutexHeld:
                pass

    def ack(self, delivery_tag: str) -> None:
        try:
            self._remove_now(delivery_tag)
        finally:
            virtual.QoS.ack(self, delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        try:
            if requeue:
                self.restore_by_tag(delivery_tag, leftmost=True)
            else:
                self._remove_now(delivery_tag)
        finally:
            virtual.QoS.ack(self, delivery_tag)

    def _remove_now(self, delivery_tag: str) -> None:
        """Remove this tag, and any whose removal failed before, from the index in one round
        trip; on failure, remember this one for the next try and raise."""
        tags = [*self._unremoved, delivery_tag]
        try:
            with self.pipe_or_acquire() as pipe:
                for tag in tags:
                    # Kombu's own removal, missing from the type stubs.
                    self._remove_from_indices(tag, pipe)  # type: ignore[attr-defined]
                pipe.execute()
        except Exception:
            self._unremoved.add(delivery_tag)
            raise
        self._unremoved.difference_update(tags)


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
