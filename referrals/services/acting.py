"""The frame every change to a referral runs in (CONTRIBUTING.md, "How we write code"): lock the referral the user may see,
check who may act (`referrals.actions`) and what its status allows (`referrals.transitions`), save
it with its ReferralEvent and its access-log row, all in one transaction; and the checks on the
free text that comes with an action."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from referrals.actions import ActorContext, action_require
from referrals.models import Referral, ReferralEvent
from referrals.selectors import referrals_visible_to
from services.models import Team
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record

TEXT_MAX = 500


def text_required(
    value: str | None, *, field: str, required: bool = True, max_length: int = TEXT_MAX
) -> str:
    """``value`` stripped; ValidationError on ``field`` when missing (if required), too long or
    holding NUL characters (which PostgreSQL cannot store)."""
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: ["This is required: say why."]})
    if len(text) > max_length:
        raise ValidationError(
            {field: [f"Keep it to {max_length} characters (it has {len(text)})."]}
        )
    if "\x00" in text:
        raise ValidationError({field: ["Remove the invisible control characters."]})
    return text


def to_the_minute(moment: datetime) -> datetime:
    """``moment`` without seconds: times typed on a form have minutes only, so "now" typed in the
    minute the referral was made is not "before" it."""
    return moment.replace(second=0, microsecond=0)


@contextmanager
def referral_acting(*, referral_id: int, user: Any, action: str) -> Iterator[tuple[Referral, str]]:
    """Lock the referral ``user`` may see (Referral.DoesNotExist otherwise: a 404), require that
    they may take ``action`` (ActionNotPermitted) and yield it with its status before the action,
    inside one transaction."""
    with transaction.atomic():
        referral = (
            referrals_visible_to(user)
            .select_for_update(of=("self",))
            .select_related("team__service")
            .get(pk=referral_id)
        )
        action_require(actor=ActorContext.of(user), referral=referral, action=action)
        yield referral, referral.status


def referral_record(
    referral: Referral,
    *,
    kind: str,
    user: Any,
    from_status: str,
    data: dict[str, Any] | None = None,
    team: Team | None = None,
) -> None:
    """Save ``referral`` and write its event and its access-log row (inside the caller's
    transaction). ``team``: the team the event concerns when the referral has just left it (a
    decline), else the referral's team."""
    now = timezone.now()
    referral.updated_at = now
    referral.save()
    referral_event_record(
        referral, kind=kind, user=user, at=now, from_status=from_status, data=data, team=team
    )


def referral_event_record(
    referral: Referral,
    *,
    kind: str,
    user: Any,
    at: datetime,
    from_status: str,
    data: dict[str, Any] | None = None,
    team: Team | None = None,
) -> None:
    """Write the event of a change already saved to ``referral``, and its access-log row (inside
    the caller's transaction). ``team`` as for ``referral_record``."""
    ReferralEvent.objects.create(
        referral=referral,
        kind=kind,
        at=at,
        actor=user,
        from_status=from_status,
        to_status=referral.status,
        team_id=team.pk if team else referral.team_id,
        data=data or {},
    )
    access_log_record(
        action=AccessLog.Action.UPDATE,
        user=user,
        object_type="referral",
        object_id=referral.pk,
        patient_id=referral.patient_id,
        detail={"action": kind.lower(), "status": referral.status},
    )
