"""Writes of the duty rota: patterns, one-off shifts, cancelled and replaced occurrences, the CSV
import, and flagging gaps ahead of time (docs/operations.md "The duty rota").

Every write checks that the user may change the team's rota (``RotaNotPermitted``), validates
with ``full_clean()`` (``ValidationError`` with messages per field) and saves in a transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar, NotRequired, TypedDict, Unpack

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from rota.imports import RotaImportInvalid, RowProblem, rota_import_check
from rota.models import RotaGap, ShiftChange, ShiftPattern
from rota.occurrences import LONDON, mask_of, occurrence_times
from rota.phones import uk_phone
from rota.selectors import (
    gap_sentence,
    pattern_of,
    rota_editable_by,
    rota_gaps_ahead,
    shift_workers,
)
from services.models import Team, TeamMembership
from services.selectors import bank_holiday_dates
from spoc.core.api import DomainConflict
from spoc.core.dates import nhs_datetime, nhs_time

logger = logging.getLogger(__name__)

# A one-off shift longer than a week is a typing mistake (a year for a day), not a shift.
ONE_OFF_MAX = timedelta(days=7)
REASON_MAX = 200


class RotaNotPermitted(DomainConflict):
    status_code: ClassVar[int] = 403
    code: ClassVar[str] = "not_permitted"


def _require_editor(user: Any, team_id: int) -> None:
    if not rota_editable_by(user, team_id=team_id):
        raise RotaNotPermitted("Only the team's leads and the SPOC coordinators change this rota.")


def _person(team_id: int, person_id: int | None, field: str = "person") -> Any:
    """The active member of staff whose role works shifts that ``person_id`` names
    (``shift_workers``); ValidationError otherwise. ``team_id`` is not checked: anyone who works
    shifts may cover any team's."""
    user = shift_workers().filter(pk=person_id).first() if person_id else None
    if user is None:
        raise ValidationError({field: ["Choose a member of staff who works shifts."]})
    return user


def _reason(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > REASON_MAX:
        raise ValidationError(
            {"reason": [f"Keep it to {REASON_MAX} characters (it has {len(text)})."]}
        )
    if "\x00" in text:
        raise ValidationError({"reason": ["Remove the invisible control characters."]})
    return text


def _phone(value: Any) -> Any:
    try:
        return uk_phone(value) if isinstance(value, str) else value
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from exc


class PatternFields(TypedDict):
    """What a weekly pattern says, as ``shift_pattern_create`` and ``_update`` take it."""

    person_id: int
    role: str
    phone: Any
    weekdays: Iterable[int]
    start_time: time
    end_time: time
    valid_from_date: date
    valid_until_date: NotRequired[date | None]
    runs_on_bank_holidays: NotRequired[bool]


def _pattern_fill(pattern: ShiftPattern, fields: PatternFields) -> None:
    """Set ``fields`` on ``pattern`` and check it (ValidationError)."""
    days = set(fields["weekdays"])
    if not days:
        raise ValidationError({"weekdays": ["Choose at least one day of the week."]})
    pattern.user = _person(pattern.team_id, fields["person_id"])
    pattern.role = fields["role"]
    pattern.phone = _phone(fields["phone"])
    pattern.weekdays = mask_of(days)
    pattern.start_time = fields["start_time"]
    pattern.end_time = fields["end_time"]
    pattern.valid_from_date = fields["valid_from_date"]
    pattern.valid_until_date = fields.get("valid_until_date")
    pattern.runs_on_bank_holidays = fields.get("runs_on_bank_holidays", True)
    if pattern.valid_until_date is not None and pattern.valid_until_date < pattern.valid_from_date:
        raise ValidationError(
            {"valid_until_date": ["The last day must be on or after the first day."]}
        )
    pattern.full_clean()


def shift_pattern_create(
    *, team_id: int, user: Any, **fields: Unpack[PatternFields]
) -> ShiftPattern:
    """A weekly pattern for the team. Raises RotaNotPermitted, ValidationError."""
    _require_editor(user, team_id)
    pattern = ShiftPattern(team_id=team_id, created_by=user, created_at=timezone.now())
    _pattern_fill(pattern, fields)
    pattern.save()
    return pattern


def shift_pattern_update(
    *, pattern_id: int, user: Any, **fields: Unpack[PatternFields]
) -> ShiftPattern:
    """Change a pattern (every occurrence, past ones included: end it and add a new one to keep
    the past as it was). Raises ShiftPattern.DoesNotExist, RotaNotPermitted, ValidationError."""
    with transaction.atomic():
        pattern = ShiftPattern.objects.select_for_update().get(pk=pattern_id)
        _require_editor(user, pattern.team_id)
        _pattern_fill(pattern, fields)
        pattern.save()
    return pattern


def shift_pattern_end(*, pattern_id: int, user: Any, last_date: date) -> ShiftPattern:
    """The pattern's last occurrence starts on ``last_date``. Raises ShiftPattern.DoesNotExist,
    RotaNotPermitted, ValidationError (a date before the pattern starts)."""
    with transaction.atomic():
        pattern = ShiftPattern.objects.select_for_update().get(pk=pattern_id)
        _require_editor(user, pattern.team_id)
        if last_date < pattern.valid_from_date:
            raise ValidationError(
                {"last_date": ["The last day must be on or after the day the pattern starts."]}
            )
        pattern.valid_until_date = last_date
        pattern.full_clean()
        pattern.save(update_fields=["valid_until_date"])
    return pattern


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": ["The shift must end after it starts."]})
    if ends_at - starts_at > ONE_OFF_MAX:
        raise ValidationError({"ends_at": ["A one-off shift lasts a week at most."]})


def shift_extra_add(
    *,
    team_id: int,
    user: Any,
    person_id: int,
    role: str,
    phone: Any,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
) -> ShiftChange:
    """A one-off shift. Raises RotaNotPermitted, ValidationError."""
    _require_editor(user, team_id)
    _check_times(starts_at, ends_at)
    change = ShiftChange(
        team_id=team_id,
        kind=ShiftChange.Kind.EXTRA,
        user=_person(team_id, person_id),
        role=role,
        phone=_phone(phone),
        starts_at=starts_at,
        ends_at=ends_at,
        reason=_reason(reason),
        created_by=user,
        created_at=timezone.now(),
    )
    change.full_clean()
    change.save()
    return change


def shift_occurrence_cancel(
    *,
    pattern_id: int,
    occurrence_date: date,
    user: Any,
    reason: str = "",
    person_id: int | None = None,
    role: str = "",
    phone: Any = "",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> ShiftChange:
    """Cancel the occurrence of a pattern that starts on ``occurrence_date`` or, given a
    ``person_id``, replace it by their shift (the occurrence's times unless ``starts_at`` and
    ``ends_at`` say otherwise; the pattern's role and phone when they are blank). Raises
    ShiftPattern.DoesNotExist, RotaNotPermitted, ValidationError (no such occurrence, or one
    already cancelled or replaced)."""
    with transaction.atomic():
        pattern = ShiftPattern.objects.select_for_update().get(pk=pattern_id)
        _require_editor(user, pattern.team_id)
        holidays = bank_holiday_dates(first=occurrence_date, last=occurrence_date)
        if not pattern_of(pattern).runs_on(occurrence_date, holidays):
            raise ValidationError(
                {"occurrence_date": ["The pattern has no shift starting on that day."]}
            )
        if ShiftChange.objects.filter(pattern=pattern, occurrence_date=occurrence_date).exists():
            raise ValidationError(
                {"occurrence_date": ["That shift has already been cancelled or replaced."]}
            )
        change = ShiftChange(
            team_id=pattern.team_id,
            kind=ShiftChange.Kind.CANCELLED,
            pattern=pattern,
            occurrence_date=occurrence_date,
            reason=_reason(reason),
            created_by=user,
            created_at=timezone.now(),
        )
        if person_id is not None:
            default_start, default_end = occurrence_times(pattern_of(pattern), occurrence_date)
            change.kind = ShiftChange.Kind.REPLACED
            change.user = _person(pattern.team_id, person_id)
            change.role = role or pattern.role
            change.phone = _phone(phone) if phone else pattern.phone
            change.starts_at = starts_at or default_start
            change.ends_at = ends_at or default_end
            _check_times(change.starts_at, change.ends_at)
        change.full_clean()
        change.save()
    return change


def shift_change_remove(*, change_id: int, user: Any) -> None:
    """Undo a one-off change: the extra shift goes, the cancelled or replaced occurrence comes
    back. Raises ShiftChange.DoesNotExist, RotaNotPermitted."""
    with transaction.atomic():
        change = ShiftChange.objects.select_for_update().get(pk=change_id)
        _require_editor(user, change.team_id)
        change.delete()


def rota_import_csv(*, team_id: int, user: Any, data: bytes) -> list[ShiftPattern]:
    """Every row of the CSV file (rota.imports) a new pattern of the team, or none of them.
    Raises RotaNotPermitted, RotaImportInvalid (with every row's problems, those ``full_clean()``
    finds included)."""
    _require_editor(user, team_id)
    report = rota_import_check(team_id=team_id, data=data)
    created = []
    problems: list[RowProblem] = []
    with transaction.atomic():
        for line, values in report.rows:
            try:
                with transaction.atomic():
                    created.append(shift_pattern_create(team_id=team_id, user=user, **values))
            except ValidationError as exc:
                problems.extend(
                    RowProblem(line, column, message)
                    for column, messages in exc.message_dict.items()
                    for message in messages
                )
        if problems:
            transaction.set_rollback(True)
    if problems:
        raise RotaImportInvalid(problems)
    return created


# --- gaps flagged ahead of time ------------------------------------------------------------------


def rota_gaps_flag(*, now: datetime | None = None) -> int:
    """Record each gap in cover of the next ``ROTA_GAP_LOOKAHEAD_HOURS`` once, and email the
    team's leads about it once; returns how many new gaps were recorded. A gap found again (later
    runs see more of it as the look-ahead moves on) extends its record and sends nothing; so a run
    repeated is harmless. A gap that is filled afterwards keeps its record (the email was sent)."""
    now = now or timezone.now()
    found = rota_gaps_ahead(now=now, hours=settings.ROTA_GAP_LOOKAHEAD_HOURS)
    new: list[RotaGap] = []
    for gap in found:
        with transaction.atomic():
            known = (
                RotaGap.objects.select_for_update()
                .filter(team=gap.team, starts_at__lte=gap.ends_at, ends_at__gte=gap.starts_at)
                .order_by("starts_at")
                .first()
            )
            if known is not None:
                if gap.ends_at > known.ends_at:
                    known.ends_at = gap.ends_at
                    known.save(update_fields=["ends_at"])
                continue
            record = RotaGap(
                team=gap.team, starts_at=gap.starts_at, ends_at=gap.ends_at, found_at=now
            )
            record.full_clean()
            record.save()
            new.append(record)
    for record in new:
        _gap_notify(record, now=now)
    return len(new)


def _gap_notify(record: RotaGap, *, now: datetime) -> None:
    """Email the team's active leads (no patient data); a failed send is logged and not retried:
    the board shows the gap meanwhile."""
    team: Team = record.team
    recipients = sorted(
        set(
            TeamMembership.objects.filter(
                team=team, role=TeamMembership.Role.LEAD, user__is_active=True
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if not recipients:
        return
    sentence = gap_sentence(team.name, record.starts_at, now=now)
    until = nhs_datetime(record.ends_at, today=now.astimezone(LONDON).date())
    body = "\n".join(
        [
            f"{sentence} until at least {until}, while the service is open.",
            "",
            "Add a shift or change the rota:",
            settings.HUB_URL + reverse("rota:team", args=[team.pk]),
        ]
    )
    subject = f"Rota gap: {team.name} from {nhs_time(record.starts_at)}"
    try:
        send_mail(subject, body, None, recipients)
    except Exception:
        logger.exception("Could not email the leads of team %s about a rota gap.", team.pk)
        return
    RotaGap.objects.filter(pk=record.pk).update(notified_at=timezone.now(), recipients=recipients)
