"""A process leaving an outside service alone for a while after it failed: the broker when
routing is enqueued (referrals/services/enqueue.py), the caches that keep team queues' rows
(referrals/selectors/queue.py), users' sessions, roles, team memberships and authenticators
(spoc/accounts/sessions.py, spoc/accounts/roles.py, services/selectors.py,
spoc/accounts/devices.py). A stalled Redis then makes one request of the process wait its socket
timeout, not every request, and the work goes the other way meanwhile (the sweeper, the
database)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from redis.exceptions import RedisError

T = TypeVar("T")


@dataclass
class FaultPause:
    """When this process last saw the service fail (``time.monotonic()``), None since it last
    answered."""

    at: float | None = None

    def fault(self) -> None:
        self.at = time.monotonic()

    def clear(self) -> None:
        self.at = None

    def active(self, seconds: float) -> bool:
        """Whether the last fault is less than ``seconds`` old."""
        return self.at is not None and time.monotonic() - self.at < seconds


# The pause of each of settings.CACHES, shared by every RestingCache of that alias in the process.
_PAUSES: dict[str, FaultPause] = {}


class RestingCache:
    """One of settings.CACHES that this process leaves alone for CACHE_RETRY_SECONDS after it
    failed: meanwhile, and on the failure itself (logged once), `call` answers None and the
    caller reads the database instead. The users of one cache (the default cache's: sessions,
    roles, team memberships, authenticators) rest it together, so a stalled Redis costs a
    request one wait, not one per user."""

    def __init__(self, alias: str, *, logger: logging.Logger, message: str) -> None:
        """``message``: the warning logged on a failure, with ``%s`` for the seconds of rest."""
        self.alias = alias
        self.logger = logger
        self.message = message
        self.pause = _PAUSES.setdefault(alias, FaultPause())

    def call(self, operation: Callable[[BaseCache], T], *, always: bool = False) -> T | None:
        """``operation``'s answer from the cache; None while it rests or when it fails.
        ``always``: tried even while it rests (what ends something kept, such as a signed-out
        session, for the other processes and nodes that still reach the cache)."""
        if not always and self.pause.active(settings.CACHE_RETRY_SECONDS):
            return None
        try:
            return operation(caches[self.alias])
        except (RedisError, OSError):
            if not self.pause.active(settings.CACHE_RETRY_SECONDS):  # logged once a rest
                self.logger.warning(self.message, settings.CACHE_RETRY_SECONDS, exc_info=True)
            self.pause.fault()
            return None

    def kept_or_read(
        self, key: str, *, read: Callable[[], T], timeout: Any = DEFAULT_TIMEOUT, reuse: bool = True
    ) -> T:
        """What ``read()`` answers, kept in the cache under ``key`` for ``timeout`` (an empty key:
        neither kept nor taken); with ``reuse``, what is kept there is taken instead."""
        kept = self.call(lambda cache: cache.get(key)) if key and reuse else None
        if kept is not None:
            return kept
        value = read()
        if key:
            self.call(lambda cache: cache.set(key, value, timeout))
        return value
