"""Enqueueing a referral's routing once its transaction commits, without ever waiting on a
stalled broker (docs/routing.md): every service that leaves a referral awaiting routing calls
``routing_enqueue_after_commit``; the sweeper catches what it misses."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from referrals.tasks import route_referral_task

logger = logging.getLogger(__name__)


def routing_enqueue_after_commit(referral_id: int) -> None:
    """Enqueue routing of ``referral_id`` once the current transaction commits (every service
    that leaves a referral awaiting routing calls this; the sweeper catches what it misses)."""
    transaction.on_commit(_routing_enqueuer(referral_id), robust=True)


class _BrokerFault:
    """When routing last failed to reach the broker from this process (``time.monotonic()``)."""

    at: float | None = None


def _routing_enqueuer(referral_id: int) -> Callable[[], None]:
    """The after-commit callback for one referral (a named function: Django's robust on_commit
    logs the callback's ``__qualname__``, which a ``functools.partial`` lacks).

    A broker fault is logged, never raised: the call stays saved and the sweeper enqueues the
    routing later. One publish waits at most ``BROKER_SOCKET_TIMEOUT_SECONDS`` (one try, see the
    settings); after a fault, enqueueing from this process pauses for
    ``ROUTING_ENQUEUE_PAUSE_SECONDS``, so that the other referrals of the call, and the calls
    that follow, do not each wait for a stalled broker.
    """

    def enqueue_routing() -> None:
        fault_at = _BrokerFault.at
        if fault_at is not None and (
            time.monotonic() - fault_at < settings.ROUTING_ENQUEUE_PAUSE_SECONDS
        ):
            logger.warning(
                "Routing of referral %s not enqueued: the broker failed moments ago; the sweeper "
                "will enqueue it.",
                referral_id,
            )
            return
        try:
            route_referral_task.delay(referral_id)
        except Exception:
            _BrokerFault.at = time.monotonic()
            logger.exception(
                "Routing of referral %s could not be enqueued; the sweeper will re-enqueue it.",
                referral_id,
            )
        else:
            _BrokerFault.at = None

    return enqueue_routing
