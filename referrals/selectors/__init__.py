"""The permission selectors (docs/design.md §10; CONTRIBUTING.md, "How we write code"). Every list, page, API and export of
patients or referrals starts from these querysets."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from patients.models import Patient
from referrals.models import Referral, ReferralEvent
from referrals.transitions import OPEN_STATUSES
from services.models import OrganisationMembership
from services.selectors import team_memberships_of
from spoc.accounts.partners import Partner
from spoc.accounts.roles import may_break_glass, may_write_clinical

# Nurses keep seeing a patient for this long after their team's last referral for them.
TEAM_VISIBILITY_DAYS = 90


def _perms(user: Any) -> set[str]:
    return user.get_all_permissions() if user.is_authenticated else set()


def sees_all_patients(user: Any) -> bool:
    """Call handlers and coordinators are the single point of contact: they search everyone."""
    perms = _perms(user)
    return "accounts.take_calls" in perms or "accounts.coordinate" in perms


def team_ids_of(user: Any) -> list[int]:
    return [team_id for team_id, _ in team_memberships_of(user=user)]


def _team_patient(team_ids: list[int]) -> Q:
    since = timezone.now() - timedelta(days=TEAM_VISIBILITY_DAYS)
    current = Referral.objects.filter(patient_id=OuterRef("pk"), team_id__in=team_ids).filter(
        Q(status__in=OPEN_STATUSES) | Q(updated_at__gte=since)
    )
    # A referral that passed through the team (declined, re-routed) in the last 90 days.
    passed = ReferralEvent.objects.filter(
        referral__patient_id=OuterRef("pk"), team_id__in=team_ids, at__gte=since
    )
    return Q(Exists(current)) | Q(Exists(passed))


def _organisation_id(user: Any) -> int | None:
    return (
        OrganisationMembership.objects.filter(user=user)
        .values_list("organisation_id", flat=True)
        .first()
    )


def patients_visible_to(user: Any, *, break_glass_ids: Collection[int] = ()) -> QuerySet[Patient]:
    """Patients this user may read: everyone for handlers and coordinators; for nurses and leads,
    patients with a referral to one of their teams, current or in the last 90 days; for
    managers, patients referred to their organisation's services; plus any patient opened by
    break-glass (logged, flagged) in this session, for the roles that may break glass
    (spoc.accounts.roles.may_break_glass) and for reading only: writes start from
    `patients_writable_by`."""
    if not user.is_authenticated or isinstance(user, Partner):
        # A partner system reads only the referrals it sent (referrals_visible_to), no patients.
        return Patient.objects.none()
    if sees_all_patients(user):
        return Patient.objects.all()
    # Each reason a question about the patient's own rows (EXISTS), which PostgreSQL answers
    # through the patient's referrals for the few patients a search or a page holds, or as one
    # hashed set for many. Asked as `pk IN (subquery)` under OR, it could only test each patient
    # against the whole subquery's rows when they were too many to hash (a busy team's 90 days):
    # minutes for a nurse's search of a name over a million patients.
    perms = _perms(user)
    allowed = Q(pk__in=list(break_glass_ids) if may_break_glass(user) else [])
    if "accounts.work_team_queue" in perms:
        allowed |= _team_patient(team_ids_of(user))
    if "accounts.view_dashboards" in perms:
        org_id = _organisation_id(user)
        if org_id is not None:
            allowed |= Q(
                Exists(
                    Referral.objects.filter(
                        patient_id=OuterRef("pk"), team__service__organisation_id=org_id
                    )
                )
            )
    return Patient.objects.filter(allowed)


def patients_writable_by(user: Any) -> QuerySet[Patient]:
    """Patients whose clinical record this user may change (admissions, care plan, death, details,
    related people, calls): none unless the role writes clinical records
    (spoc.accounts.roles.may_write_clinical); otherwise the patients in their care, never those
    opened by break-glass."""
    if not may_write_clinical(user):
        return Patient.objects.none()
    return patients_visible_to(user)


def sees_whole_team(user: Any, team_id: int) -> bool:
    """Whether every referral of the team is in ``referrals_visible_to(user)``: then the team's
    queue is the same for her as for anyone else who sees it whole (its rows may be shared
    between them: referrals/selectors/queue.py)."""
    if isinstance(user, Partner) or not user.is_authenticated:
        return False
    return sees_all_patients(user) or (
        "accounts.work_team_queue" in _perms(user) and team_id in team_ids_of(user)
    )


def referrals_visible_to(user: Any) -> QuerySet[Referral]:
    """Referrals whose details this user may see: all for handlers and coordinators; their
    teams' for nurses and leads; their organisation's services' for managers. Other referrals of
    a visible patient are shown as summary lines only (referral_summaries_for_patient). A
    partner system sees the referrals it sent (referrals/services/electronic.py)."""
    if isinstance(user, Partner):
        return Referral.objects.filter(sender=user.system)
    if not user.is_authenticated:
        return Referral.objects.none()
    if sees_all_patients(user):
        return Referral.objects.all()
    perms = _perms(user)
    allowed = Q(pk__in=[])
    if "accounts.work_team_queue" in perms:
        allowed |= Q(team_id__in=team_ids_of(user))
    if "accounts.view_dashboards" in perms:
        org_id = _organisation_id(user)
        if org_id is not None:
            allowed |= Q(team__service__organisation_id=org_id)
    return Referral.objects.filter(allowed)
