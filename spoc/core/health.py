"""Health of the hub's parts, for /healthz (docs/design.md §6, §10)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django_otp import user_has_device

from spoc.core.models import Heartbeat
from spoc.core.pipeline import PipelineMarks, beat_state, canaries_state, pipeline_marks
from spoc.core.replica import check_replica, replica_configured


def check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True}


def check_broker() -> dict[str, Any]:
    from spoc.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "transport": conn.transport_cls}


def check_worker() -> dict[str, Any]:
    try:
        beat = Heartbeat.objects.filter(name="worker").first()
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    if beat is None:
        return {"ok": False, "error": "no heartbeat yet"}
    age = timezone.now() - beat.beat_at
    ok = age <= timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
    return {
        "ok": ok,
        "last_heartbeat_at": beat.beat_at.isoformat(),
        "age_seconds": int(age.total_seconds()),
    }


def _pipeline_check(
    rule: Callable[[dict[str, PipelineMarks], datetime], dict[str, Any]],
) -> Callable[[], dict[str, Any]]:
    def check() -> dict[str, Any]:
        try:
            marks = pipeline_marks()
        except Exception as exc:
            return {"ok": False, "error": exc.__class__.__name__}
        return rule(marks, timezone.now())

    return check


# Tasks are being taken from every queue: the canary beat sent to each was consumed lately; beat
# runs: it scheduled a canary lately (spoc/core/pipeline.py). Beat's mark is one for all queues.
check_canary = _pipeline_check(
    lambda marks, now: canaries_state(
        marks=marks, now=now, stale_after=settings.CANARY_STALE_SECONDS
    )
)
check_beat = _pipeline_check(
    lambda marks, now: beat_state(
        marks=next(iter(marks.values())), now=now, stale_after=settings.BEAT_STALE_SECONDS
    )
)


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
    "canary": check_canary,
    "beat": check_beat,
}


def register_check(name: str, check: Callable[[], dict[str, Any]]) -> None:
    """Higher apps add their checks at start-up (the routing backlog), so this module needs to
    know nothing of them."""
    CHECKS[name] = check


# Parts the hub works without, only less well, each checked where it is configured: when one
# fails, /healthz says "degraded" with 200, not "fail" with 503. Without the read replica, reads
# go to the primary (spoc/core/replica.py).
OPTIONAL_CHECKS: dict[str, tuple[Callable[[], bool], Callable[[], dict[str, Any]]]] = {
    "replica": (replica_configured, check_replica),
}


def health_report() -> tuple[bool, dict[str, Any]]:
    """Run every check; returns (every check that the hub needs is ok, report). The report's
    status is "ok", "degraded" (only an optional part failed) or "fail"."""
    report = {name: check() for name, check in CHECKS.items()}
    healthy = all(part["ok"] for part in report.values())
    optional = {name: check() for name, (wanted, check) in OPTIONAL_CHECKS.items() if wanted()}
    status = "fail" if not healthy else "ok"
    if healthy and not all(part["ok"] for part in optional.values()):
        status = "degraded"
    return healthy, {"status": status, **report, **optional}


def health_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What a stranger is told: the overall result only. Which part failed, the broker's
    transport, the worker's age and the backlogs tell an attacker what to aim at and when."""
    return {"status": report["status"]}


def health_detail_allowed(*, user: Any, authorization: str) -> bool:
    """Whether the caller may read every check: a monitoring system sending
    ``Authorization: Bearer <HEALTHZ_TOKEN>`` (compared in constant time; no token is accepted
    while HEALTHZ_TOKEN is empty), or a signed-in system admin or superuser who has passed the
    second factor where one is required (/healthz is outside the two-factor middleware)."""
    token = settings.HEALTHZ_TOKEN
    scheme, _, presented = authorization.partition(" ")
    if token and scheme.lower() == "bearer" and constant_time_compare(presented.strip(), token):
        return True
    if not (user.is_authenticated and user.is_active and user.has_perm("accounts.manage_users")):
        return False
    needs_second_factor = settings.MFA_REQUIRED or user_has_device(user, confirmed=True)
    return not needs_second_factor or bool(getattr(user, "is_verified", lambda: False)())
