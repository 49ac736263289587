"""The demo duty rota (docs/operations.md "The duty rota"): every team covered day (08:00-20:00)
and night (20:00-08:00), every day, bank holidays included, by the demo staff who work shifts,
each shift with its own phone from Ofcom's drama range (07700 900000-900999), so that somebody is
on duty in every team whenever the demo runs. The night team's shift tonight is cancelled, so the
coordinator board shows a gap."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from rota.models import ShiftChange, ShiftPattern, ShiftRole
from rota.occurrences import LONDON, mask_of
from services.codes import ServiceType
from services.models import Service, Team
from spoc.accounts.models import User

# Who works the demo shifts (day, night), and as what: the coordinators' own team, and the rest.
SPOC_STAFF = (("coordinator", ShiftRole.COORDINATOR), ("handler", ShiftRole.CALL_HANDLER))
CLINICAL_STAFF = (("nurse", ShiftRole.SPECIALIST_NURSE), ("lead", ShiftRole.TEAM_LEAD))
SHIFTS = ((time(8), time(20)), (time(20), time(8)))
GAP_TEAM = "Evening Star night team"
# Ofcom's mobile numbers for drama: 07700 900000 to 07700 900999 reach nobody.
DRAMA_MOBILE = "07700 900{:03d}"


def seed_rota(*, users: dict[str, User], services: dict[str, Service], now: datetime) -> None:
    """Create or refresh the demo rota; idempotent (a run on another night cancels that night)."""
    today = now.astimezone(LONDON).date()
    teams = Team.objects.filter(service__in=services.values()).select_related("service")
    for number, team in enumerate(teams.order_by("name")):
        for shift, (start, end) in enumerate(SHIFTS):
            staff = SPOC_STAFF if team.service.service_type == ServiceType.SPOC else CLINICAL_STAFF
            username, role = staff[(number + shift) % len(staff)]
            pattern, _ = ShiftPattern.objects.update_or_create(
                team=team,
                start_time=start,
                end_time=end,
                defaults={
                    "user": users[username],
                    "role": role,
                    "phone": DRAMA_MOBILE.format(100 + number * len(SHIFTS) + shift),
                    "weekdays": mask_of(range(7)),
                    "valid_from_date": today - timedelta(days=28),
                    "valid_until_date": None,
                    "runs_on_bank_holidays": True,
                    "created_by": users["coordinator"],
                    "created_at": now,
                },
            )
            if team.name == GAP_TEAM and start == SHIFTS[1][0]:
                _cancel_tonight(pattern, now=now, by=users["coordinator"])


def _cancel_tonight(pattern: ShiftPattern, *, now: datetime, by: User) -> None:
    """Cancel the night running now, or else the next one to start (tonight's)."""
    local = now.astimezone(LONDON)
    night = local.date() - timedelta(days=1) if local.time() < pattern.end_time else local.date()
    ShiftChange.objects.get_or_create(
        pattern=pattern,
        occurrence_date=night,
        defaults={
            "team": pattern.team,
            "kind": ShiftChange.Kind.CANCELLED,
            "reason": "Nobody found to cover (demo)",
            "created_by": by,
            "created_at": now,
        },
    )
