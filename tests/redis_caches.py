"""The caches the hub keeps in Redis, for their tests: the test settings' caches pointed at a
Redis as production points them (spoc/settings/base.py), the suite's Redis under a prefix of a
test's own, and a Redis that fails (stalled: connections taken and never answered; refused:
nothing listens on its port)."""

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis
from django.conf import settings
from django.test import override_settings

TIMEOUTS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}


def redis_default_cache(location: str, prefix: str) -> dict:
    """The test settings' caches with the default one in the Redis at ``location``."""
    return {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
            "OPTIONS": TIMEOUTS,
        },
    }


def redis_queue_cache(location: str, prefix: str) -> dict:
    """The test settings' caches with the queue's rows kept in the Redis at ``location``."""
    return {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "queue": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
            "TIMEOUT": 600,
            "OPTIONS": TIMEOUTS,
        },
    }


@contextmanager
def suite_redis(name: str, caches=redis_default_cache, **overrides) -> Iterator[tuple]:
    """The caches in the suite's Redis under a prefix of their own, with the settings
    ``overrides``, for the length of the block; yields that Redis and the prefix, and deletes
    every key under the prefix afterwards."""
    prefix = f"{name}-test-{uuid.uuid4().hex[:8]}"
    server = redis.Redis.from_url(settings.REDIS_URL)
    try:
        with override_settings(CACHES=caches(settings.REDIS_URL, prefix), **overrides):
            yield server, prefix
    finally:
        for key in server.scan_iter(f"{prefix}:*"):
            server.delete(key)


@contextmanager
def kept_as_in_production(name: str) -> Iterator[tuple]:
    """``suite_redis`` with ROLES_KEPT_SECONDS and SESSION_KEPT_SECONDS as in production: roles,
    team memberships, authenticators and sessions kept in the suite's Redis."""
    with suite_redis(name, ROLES_KEPT_SECONDS=600, SESSION_KEPT_SECONDS=300) as kept:
        yield kept


class StalledRedis:
    """A server on a local port that takes connections and never answers, as a stalled Redis
    does; counts the connections it was offered."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.location = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        with suppress(OSError):
            while True:
                connection, _ = self.listener.accept()
                self.accepted.append(connection)

    def close(self):
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@contextmanager
def failing_redis(fault: str) -> Iterator[StalledRedis]:
    """A Redis that fails for the length of the block: ``stalled`` or ``refused`` (the stalled
    server closed at once, so that every connection to its port is refused)."""
    stalled = StalledRedis()
    if fault == "refused":
        stalled.close()
    try:
        yield stalled
    finally:
        stalled.close()
