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

Settings select this transport when REDIS_URL is set (``CELERY_BROKER_TRANSPORT``); the embedded
filesystem broker keeps Kombu's own.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual


class QoS(kombu_redis.QoS):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Tags whose removal from Redis's index failed; retried with the next acknowledgement.
        self._unremoved: set[str] = set()

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
