"""Enqueueing a referral's routing once its transaction commits, without ever waiting on a
stalled broker (docs/routing.md): every service that leaves a referral awaiting routing calls
``routing_enqueue_after_commit``; the sweeper catches what it misses.

Routing at P1-P2 goes to a queue of its own, taken first (spoc/core/queues.py), so that a
backlog at P3-P5 never delays it. Each enqueue leaves a mark in the cache for
ROUTING_REENQUEUE_AFTER_SECONDS, so that the sweeper does not enqueue the same referral again
while its task is still queued (``routing_enqueued_recently``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from referrals.tasks import route_referral_task
from spoc.core.pauses import FaultPause
from spoc.core.queues import routing_queue

logger = logging.getLogger(__name__)


def routing_enqueue_after_commit(referral_id: int, *, priority: str) -> None:
    """Enqueue routing of ``referral_id`` (at ``priority``) once the current transaction commits
    (every service that leaves a referral awaiting routing calls this; the sweeper catches what
    it misses)."""
    transaction.on_commit(_routing_enqueuer(referral_id, priority), robust=True)


def routing_task_send(referral_id: int, *, priority: str) -> None:
    """Publish the routing task of ``referral_id`` to the routing queue of ``priority`` and mark
    it enqueued. Raises what the broker raises (the mark is then not left)."""
    route_referral_task.apply_async((referral_id,), queue=routing_queue(priority))
    routing_enqueued_mark([referral_id])


def _mark_key(referral_id: int) -> str:
    return f"routing-enqueued:{referral_id}"


def routing_enqueued_mark(referral_ids: Iterable[int]) -> None:
    """Remember, for ROUTING_REENQUEUE_AFTER_SECONDS, that these referrals' routing was enqueued.
    A cache fault is logged, never raised: the sweeper then only enqueues once more."""
    marks = {_mark_key(pk): 1 for pk in referral_ids}
    if not marks:
        return
    try:
        cache.set_many(marks, timeout=settings.ROUTING_REENQUEUE_AFTER_SECONDS)
    except Exception:
        logger.warning("Routing enqueued marks not recorded (cache unreachable).", exc_info=True)


def routing_enqueued_recently(referral_ids: Iterable[int]) -> set[int]:
    """Those of ``referral_ids`` whose routing was enqueued within
    ROUTING_REENQUEUE_AFTER_SECONDS, in one cache round trip. A cache fault reads as none.

    The marks live in the cache: Redis in production, beside the queue they describe, so a
    Redis that lost its queued tasks has lost their marks too and the sweeper enqueues them
    again at once. Without Redis (the embedded default) each process has its own cache, so a
    sweep sees only the marks of the worker process that runs it."""
    ids = list(referral_ids)
    try:
        found = cache.get_many([_mark_key(pk) for pk in ids])
    except Exception:
        logger.warning("Routing enqueued marks unreadable (cache unreachable).", exc_info=True)
        return set()
    return {pk for pk in ids if _mark_key(pk) in found}


# When routing last failed to reach the broker from this process.
BROKER_FAULT = FaultPause()


def _routing_enqueuer(referral_id: int, priority: str) -> Callable[[], None]:
    """The after-commit callback for one referral (a named function: Django's robust on_commit
    logs the callback's ``__qualname__``, which a ``functools.partial`` lacks).

    A broker fault is logged, never raised: the call stays saved and the sweeper enqueues the
    routing later. One publish waits at most ``BROKER_SOCKET_TIMEOUT_SECONDS`` (one try, see the
    settings); after a fault, enqueueing from this process pauses for
    ``ROUTING_ENQUEUE_PAUSE_SECONDS``, so that the other referrals of the call, and the calls
    that follow, do not each wait for a stalled broker.
    """

    def enqueue_routing() -> None:
        if BROKER_FAULT.active(settings.ROUTING_ENQUEUE_PAUSE_SECONDS):
            logger.warning(
                "Routing of referral %s not enqueued: the broker failed moments ago; the sweeper "
                "will enqueue it.",
                referral_id,
            )
            return
        try:
            routing_task_send(referral_id, priority=priority)
        except Exception:
            BROKER_FAULT.fault()
            logger.exception(
                "Routing of referral %s could not be enqueued; the sweeper will re-enqueue it.",
                referral_id,
            )
        else:
            BROKER_FAULT.clear()

    return enqueue_routing
