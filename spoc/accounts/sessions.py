"""Sessions kept in the database and read through the default cache (settings.SESSION_ENGINE).

Every page and poll of a signed-in user loads their session, and from the database that is a
query of its own on every request. Here a session read or written in the last
SESSION_KEPT_SECONDS is taken from the default cache (Redis, shared by every web process and
node) instead; the database stays the record: every write goes to it first, then to the cache
before the row's lock is let go (so that concurrent writes leave the copy as the last row), and a
session is deleted from both. Unlike Django's ``cached_db`` engine, a cache that fails
(Redis stalled or down) is left alone for a while (spoc/core/pauses.py) and the database
answers, so signing in, the pages and signing out go on while Redis is away.

Signing out leaves a marker in the session's place in the cache (``GONE``) for
SESSION_KEPT_SECONDS, tried even while the cache rests, and a session read from the database is
kept only where nothing is (``add``): a read that began before the sign-out cannot put the
session back. A sign-out that could not reach the cache at all leaves the session's copy there
until it expires: a copy of the signed-out cookie, stolen, would be accepted for at most
SESSION_KEPT_SECONDS more. That is the bound the setting sets (docs/security.md, "Sessions read
through Redis"); ending a user's sessions on a change of password or roles does not depend on it
(the session's hash is checked against the user's row on every request).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.db import router, transaction

from spoc.core.pauses import RestingCache

logger = logging.getLogger(__name__)

KEY_PREFIX = "session-"
# What a signed-out session's key holds in the cache (any copy is a dict).
GONE = "gone"
SESSIONS_CACHE = RestingCache(
    "default",
    logger=logger,
    message="Sessions cache unreachable: sessions read from the database for %s s.",
)


def key_digest(session_key: str) -> str:
    """A digest of a session's key: it names the session (its copy in the cache, the API tokens
    it asked for: spoc.accounts.tokens) without being a cookie that signs in."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def kept_key(session_key: str) -> str:
    """Where the session ``session_key`` is kept in the cache, named by its digest, so that
    whoever reads Redis (its backups, the broker's tools) sees no cookie that signs in."""
    return KEY_PREFIX + key_digest(session_key)


class SessionStore(DatabaseStore):
    """Django's database sessions, read from the default cache while kept there."""

    def _kept_key(self, session_key: str | None) -> str:
        """The cache key of ``session_key``; "" when sessions are not kept or it has none."""
        if not settings.SESSION_KEPT_SECONDS or not session_key:
            return ""
        return kept_key(session_key)

    def _keep(self, key: str, data: dict[str, Any], expiry_age: int, *, read: bool) -> None:
        """``data`` kept under ``key``: as written (``set``), or, as ``read`` from the database,
        only where nothing is kept (``add``): a copy written since, or a sign-out's marker,
        stays."""
        seconds = min(settings.SESSION_KEPT_SECONDS, expiry_age)
        if key and seconds > 0:
            if read:
                SESSIONS_CACHE.call(lambda cache: cache.add(key, data, seconds))
            else:
                SESSIONS_CACHE.call(lambda cache: cache.set(key, data, seconds))

    def load(self) -> dict[str, Any]:
        key = self._kept_key(self.session_key)
        if key:
            kept = SESSIONS_CACHE.call(lambda cache: cache.get(key))
            if kept == GONE:
                self._session_key = None  # as Django's own load does for a session gone
                return {}
            if kept is not None:
                return kept  # type: ignore[no-any-return]
        # None, and the key forgotten, when gone or expired (Django's, as its cached_db engine
        # reads it; django-stubs leaves the private methods out).
        row = self._get_session_from_db()  # type: ignore[attr-defined]
        if row is None:
            return {}
        data: dict[str, Any] = self.decode(row.session_data)
        self._keep(key, data, self.get_expiry_age(expiry=row.expire_date), read=True)
        return data

    def save(self, must_create: bool = False) -> None:
        key = self._kept_key(self.session_key)
        if not key:  # not kept, or a new session: create() comes back here with its key
            super().save(must_create)
            return
        # The copy is written while the row written is still locked: two requests writing one
        # session write their copies in the order of their rows, and the copy ends as the last.
        with transaction.atomic(using=router.db_for_write(self.model)):
            super().save(must_create)
            data = self._session  # type: ignore[attr-defined]
            self._keep(key, data, self.get_expiry_age(), read=False)

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key if session_key is not None else self.session_key
        super().delete(session_key)
        key = self._kept_key(session_key)
        if key:
            SESSIONS_CACHE.call(
                lambda cache: cache.set(key, GONE, settings.SESSION_KEPT_SECONDS), always=True
            )
