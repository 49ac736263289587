"""Writes to the service directory. Each change is validated, saved with its constraints, and
written to the access log (docs/design.md §10: every change is attributable)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from services.clocks import InvalidClockOverride, clock_overrides_parse
from services.hours import Window
from services.hours_validation import overlapping_windows
from services.models import (
    CapacityStatus,
    Closure,
    CoverageArea,
    OpeningHours,
    Service,
    Site,
    Team,
    TeamMembership,
)
from services.postcodes import InvalidPostcode, normalise_area
from services.selectors import team_leads_can_report_capacity
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record

# A service's own fields that its edit page changes, in the order the page draws them
# (services/forms.py); the page's other fields are saved separately below.
SERVICE_DETAIL_FIELDS = (
    "name",
    "service_type",
    "status",
    "description",
    "phone",
    "email",
    "assured_date",
    "alert",
    "min_age",
    "max_age",
    "referrer_types",
    "accepts_self_referral",
)
# Where callers go while the service is closed (docs/directory.md "The SPOC's hours").
OUT_OF_HOURS_FIELDS = ("out_of_hours_message", "out_of_hours_phone")
SERVICE_FIELDS = (
    *SERVICE_DETAIL_FIELDS,
    "closed_on_bank_holidays",
    "clock_overrides",
    *OUT_OF_HOURS_FIELDS,
)


def _log_change(*, user: Any, service: Service, what: str) -> None:
    access_log_record(
        action=AccessLog.Action.UPDATE,
        user=user,
        object_type="service",
        object_id=service.pk,
        detail={"changed": what},
    )


def coverage_areas_parse(raw: str) -> list[str]:
    """Areas typed as free text (commas, spaces or new lines; sectors such as "L9 7" keep their
    space). Returns them normalised and sorted; raises ValidationError naming each bad entry."""
    tokens = [t for t in raw.replace(",", "\n").replace(";", "\n").splitlines() if t.strip()]
    areas: set[str] = set()
    errors = []
    for token in tokens:
        parts = token.split()
        # "L9 7" is one sector; "L9 L10" are two outward codes.
        chunks = [" ".join(parts)] if len(parts) == 2 and parts[1].isdigit() else parts
        for chunk in chunks:
            try:
                areas.add(normalise_area(chunk))
            except InvalidPostcode as exc:
                errors.append(f"{chunk!r}: {exc}")
    if errors:
        raise ValidationError(errors)
    return sorted(areas)


@transaction.atomic
def service_update(
    *,
    service: Service,
    user: Any,
    data: dict[str, Any],
    areas: Iterable[str],
    sites: Iterable[Site],
    windows: Iterable[Window],
    open_24_7: bool,
) -> Service:
    """Replace a service's details, eligibility, coverage, sites served and weekly hours at once.

    Raises ValidationError (field-keyed where possible) and changes nothing when any part is
    invalid: overlapping windows, bad clock overrides, an inverted age range, a bad area.
    """
    windows = list(windows)
    errors: dict[str, list[str]] = {}
    clashes = overlapping_windows(windows)
    if clashes:
        errors["opening_hours"] = [f"{a} overlaps {b}." for a, b in clashes]
    if not open_24_7 and not windows and data.get("status") == "ACTIVE":
        errors.setdefault("opening_hours", []).append(
            "An active service needs opening hours, or tick open 24/7."
        )
    try:
        clock_overrides_parse(data.get("clock_overrides"))
    except InvalidClockOverride as exc:
        errors["clock_overrides"] = [str(exc)]
    area_list = [normalise_area(a) for a in areas]
    for field in SERVICE_FIELDS:
        if field in data:
            setattr(service, field, data[field])
    service.open_24_7 = open_24_7
    try:
        service.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    service.save()
    CoverageArea.objects.filter(service=service).exclude(area__in=area_list).delete()
    existing = set(service.coverage_areas.values_list("area", flat=True))
    CoverageArea.objects.bulk_create(
        [CoverageArea(service=service, area=a) for a in area_list if a not in existing]
    )
    service.sites.set(list(sites))
    OpeningHours.objects.filter(service=service).delete()
    if not open_24_7:
        OpeningHours.objects.bulk_create(
            [
                OpeningHours(
                    service=service, weekday=w.weekday, opens_at=w.opens, closes_at=w.closes
                )
                for w in windows
            ]
        )
    _log_change(user=user, service=service, what="details, eligibility, coverage, sites, hours")
    return service


def closure_create(
    *, service: Service, user: Any, starts_at: datetime, ends_at: datetime, reason: str
) -> Closure:
    closure = Closure(service=service, starts_at=starts_at, ends_at=ends_at, reason=reason.strip())
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": ["The closure must end after it starts."]})
    closure.full_clean()
    with transaction.atomic():
        closure.save()
        _log_change(user=user, service=service, what=f"closure added {closure.pk}")
    return closure


def closure_delete(*, service: Service, user: Any, closure_id: int) -> None:
    with transaction.atomic():
        deleted, _ = Closure.objects.filter(service=service, pk=closure_id).delete()
        if deleted:
            _log_change(user=user, service=service, what=f"closure removed {closure_id}")


def capacity_report(
    *, service: Service, user: Any, rag: str, units: int | None = None, note: str = ""
) -> CapacityStatus:
    """A lead of the service's team reports its capacity now. Raises PermissionDenied for anyone
    else, ValidationError for a bad value (negative units, unknown status)."""
    if not team_leads_can_report_capacity(user=user, service=service):
        raise PermissionDenied("Only a lead of this service's team can update its capacity.")
    report = CapacityStatus(
        service=service,
        rag=rag,
        available_units=units,
        reported_at=timezone.now(),
        reported_by=user,
        note=note.strip(),
    )
    report.full_clean()
    with transaction.atomic():
        report.save()
        _log_change(user=user, service=service, what=f"capacity {rag}")
    return report


def teams_epoch_raise(*, users: QuerySet[Any]) -> None:
    """Raise the teams epoch of ``users``, in the writing transaction: the team memberships their
    requests kept between requests are not taken again (services.selectors._memberships_key)."""
    users.update(teams_epoch=F("teams_epoch") + 1)


def team_membership_changed(sender: Any, instance: TeamMembership, **kwargs: Any) -> None:
    """A membership saved or deleted, whoever wrote it (the admin, a team's deletion, the shell):
    Django's ``post_save`` and ``post_delete`` of TeamMembership (services/apps.py)."""
    teams_epoch_raise(users=get_user_model().objects.filter(pk=instance.user_id))


def team_membership_changing(sender: Any, instance: TeamMembership, **kwargs: Any) -> None:
    """A membership about to be saved again, perhaps moved to another user (the admin's change
    form can): the user it belongs to until then loses it too (Django's ``pre_save``)."""
    if instance.pk is not None:
        teams_epoch_raise(users=get_user_model().objects.filter(team_memberships__pk=instance.pk))


def team_changed(sender: Any, instance: Team, created: bool, **kwargs: Any) -> None:
    """A team saved (renamed, say): its members keep Team objects among their memberships
    (Django's ``post_save`` of Team). A team deleted deletes its memberships, each signalled."""
    if not created:
        teams_epoch_raise(users=get_user_model().objects.filter(team_memberships__team=instance))
