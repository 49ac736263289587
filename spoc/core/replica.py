"""Reads from a PostgreSQL streaming replica (docs/operations.md, "A read replica").

With ``DATABASE_REPLICA_URL`` set, the settings add the database alias ``replica`` and
:class:`ReplicaRouter`. A request reads from the replica only when all of these hold:

- its view is marked with :func:`replica_reads` (the dashboards and their exports, the directory
  search, the FHIR directory reads) and its method is safe (GET, HEAD, OPTIONS);
- its browser has written nothing for ``REPLICA_READ_YOUR_WRITES_SECONDS`` (a signed cookie,
  set by :class:`ReplicaReadsMiddleware` on the response to any other method), nor its user (a
  mark in the cache, for API clients, who keep no cookies);
- the model is the hub's own data (:data:`REPLICA_APPS`): who is asking, their roles, sessions
  and tokens, the access log and the hub's own marks are always read from the primary, so a
  role just taken away is never still honoured by a replica behind;
- the primary's connection is not inside a transaction;
- the replica answers, and is at most ``REPLICA_MAX_LAG_SECONDS`` behind (measured at most every
  ``REPLICA_CHECK_SECONDS``; a failure is remembered for ``REPLICA_RETRY_SECONDS``, so that
  requests do not each wait for a replica that is down).

Anything else reads from the primary. Writes, ``select_for_update`` (Django routes it as a write)
and migrations never go to the replica.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

REPLICA = "replica"
# The apps whose rows may be read from the replica: the figures, the directory and what they
# count. Not accounts (users, roles, partners' credentials), auth, sessions, audit or core.
REPLICA_APPS = frozenset(
    {"dashboards", "services", "rota", "patients", "referrals", "calls", "experience"}
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The signed cookie that sends a browser's reads to the primary after it wrote; its value is
# nothing, its signature and age are what count.
WROTE_COOKIE = "spoc_wrote"
_COOKIE_SALT = "spoc.core.replica.wrote"

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def replica_reads(view: ViewT) -> ViewT:
    """Mark a view (a function, or what ``as_view()`` returns) as one whose reads may come from
    the replica. Only figures and the directory: never patient records, queues or referrals."""
    view.replica_reads = True  # type: ignore[attr-defined]  # a marker read by the middleware
    return view


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# --- The replica's state, per process -----------------------------------------------------------


@dataclass(frozen=True)
class ReplicaState:
    """What the last look at the replica found. ``lag_seconds`` is 0 when it had replayed all
    the primary had written; ``as_of`` is the moment its data stands at (this process's clock
    less the lag), ``None`` when it could not be measured."""

    ok: bool
    lag_seconds: float | None = None
    as_of: datetime | None = None
    error: str = ""
    checked_at: float = field(default_factory=time.monotonic)

    def as_report(self) -> dict[str, Any]:
        report: dict[str, Any] = {"ok": self.ok}
        if self.lag_seconds is not None:
            report["lag_seconds"] = round(self.lag_seconds, 1)
        if self.as_of is not None:
            report["as_of"] = self.as_of.isoformat()
        if self.error:
            report["error"] = self.error
        return report


_state: ReplicaState | None = None
_state_lock = threading.Lock()


def replica_measure() -> ReplicaState:
    """Look at the replica now. The primary's WAL position is read first: a replica that has
    replayed up to it is caught up (lag 0), however long ago its last transaction was; one that
    has not is as far behind as its last replayed commit is old."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            primary_lsn = cursor.fetchone()[0]
        replica = connections[REPLICA]
        with replica.cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), "
                "COALESCE(pg_last_wal_replay_lsn() >= %s::pg_lsn, false), "
                "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())",
                [primary_lsn],
            )
            in_recovery, caught_up, behind = cursor.fetchone()
    except Exception as exc:
        _close_quietly(REPLICA)
        return ReplicaState(ok=False, error=_error(exc))
    if not in_recovery or caught_up:
        lag = 0.0
    elif behind is None:
        return ReplicaState(ok=False, error="the replica has replayed no transaction yet")
    else:
        lag = max(0.0, float(behind))
    as_of = timezone.now() - timedelta(seconds=lag)
    if lag > settings.REPLICA_MAX_LAG_SECONDS:
        return ReplicaState(
            ok=False,
            lag_seconds=lag,
            as_of=as_of,
            error=f"{lag:.0f} s behind the primary, over {settings.REPLICA_MAX_LAG_SECONDS} s",
        )
    return ReplicaState(ok=True, lag_seconds=lag, as_of=as_of)


def replica_state(*, fresh: bool = False) -> ReplicaState:
    """The replica's state as this process last saw it, measured again when older than
    ``REPLICA_CHECK_SECONDS`` (``REPLICA_RETRY_SECONDS`` after a failure) or when ``fresh``."""
    global _state
    state = _state
    if state is not None and not fresh:
        keep = settings.REPLICA_CHECK_SECONDS if state.ok else settings.REPLICA_RETRY_SECONDS
        if time.monotonic() - state.checked_at < keep:
            return state
    with _state_lock:
        _state = replica_measure()
        return _state


def _remember_failure(exc: Exception) -> ReplicaState:
    """Record that the replica failed just now, so that it is left alone for a while."""
    global _state
    _state = ReplicaState(ok=False, error=_error(exc))
    return _state


def replica_forget() -> None:
    """Forget what this process saw of the replica: the next read looks again."""
    global _state
    _state = None


def _error(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {str(exc).strip()[:200]}"


def _close_quietly(alias: str) -> None:
    # A connection already broken has nothing left to close.
    with suppress(Exception):
        connections[alias].close()


def check_replica() -> dict[str, Any]:
    """/healthz: the replica's state and lag. Not critical: without it, reads go to the primary
    (spoc/core/health.py reports the hub degraded, not failing)."""
    return replica_state(fresh=True).as_report()


# --- Which database a read goes to ---------------------------------------------------------------


class _Scope:
    """The replica-eligible request being served: whether it may read from the replica is
    decided at its first read (the user of an API request is known only inside its view)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.decided: bool | None = None
        self.state: ReplicaState | None = None

    def use_replica(self) -> bool:
        if self.decided is None:
            self.decided = False  # while deciding, the decision's own reads go to the primary
            self.decided = not wrote_lately(self.request) and self._replica_answers()
        return self.decided

    def _replica_answers(self) -> bool:
        self.state = replica_state()
        if not self.state.ok:
            return False
        replica = connections[REPLICA]
        try:
            # A connection kept from an earlier request (CONN_MAX_AGE) to a replica that has
            # stopped since is found dead here, by the check Django would make at the first
            # query (once a request), and a new one is tried, while the primary can still be
            # chosen instead.
            replica.close_if_health_check_failed()
            replica.ensure_connection()
        except Exception as exc:
            _close_quietly(REPLICA)
            self.state = _remember_failure(exc)
            return False
        return True


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "replica_scope", default=None
)


def read_from_replica() -> ReplicaState | None:
    """The replica's state if this request's reads came from it, else None (a dashboard's
    "figures as of" note)."""
    scope = _scope.get()
    if scope is None or not scope.decided:
        return None
    return scope.state


def _wrote_key(user_id: Any) -> str:
    return f"replica:wrote:{user_id}"


def wrote_lately(request: HttpRequest) -> bool:
    """Whether this browser, or this signed-in user, wrote within the read-your-writes time."""
    if request.get_signed_cookie(
        WROTE_COOKIE,
        default=None,
        salt=_COOKIE_SALT,
        max_age=settings.REPLICA_READ_YOUR_WRITES_SECONDS,
    ):
        return True
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    try:
        return bool(cache.get(_wrote_key(user.pk)))
    except Exception:
        # A cache that cannot answer cannot say the user did not write.
        return True


def _mark_wrote(request: HttpRequest, response: HttpResponseBase) -> None:
    seconds = settings.REPLICA_READ_YOUR_WRITES_SECONDS
    response.set_signed_cookie(
        WROTE_COOKIE,
        "1",
        salt=_COOKIE_SALT,
        max_age=seconds,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # A cache that fails: the cookie still holds a browser to the primary.
        with suppress(Exception):
            cache.set(_wrote_key(user.pk), 1, seconds)


class ReplicaReadsMiddleware:
    """Opens the replica to the views marked with :func:`replica_reads`, on safe methods, and
    marks a browser and user that sent any other method (read your writes). Installed by the
    settings only with a replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = _scope.set(None)
        try:
            response = self.get_response(request)
        finally:
            _scope.reset(token)
        if request.method not in SAFE_METHODS:
            _mark_wrote(request, response)
        return response

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], *args: Any) -> None:
        if request.method in SAFE_METHODS and getattr(view_func, "replica_reads", False):
            _scope.set(_Scope(request))


class ReplicaRouter:
    """Django's database router for the replica (docs/architecture.md, "A read replica")."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        scope = _scope.get()
        if (
            scope is None
            or model._meta.app_label not in REPLICA_APPS
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        return REPLICA if scope.use_replica() else DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # The replica holds the primary's rows: a row read from either may refer to the other's.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA
