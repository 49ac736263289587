"""The coordinator board (docs/design.md §5, §6): every referral that needs a coordinator now, each
list with the action to take, the possible patient matches a partner's message raised
(docs/interop.md, "Matching the patient"), and who is on duty with the gaps ahead in the duty
rota. A constant number of queries, whatever the number of referrals, matches and shifts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from patients.models import Patient, PossibleMatch
from referrals.models import Alert, OutboxMessage, Referral
from referrals.selectors import patients_visible_to, referrals_visible_to
from referrals.selectors.outbox import Undelivered, outbox_undelivered, outbox_visible_to
from referrals.services.routing import MAX_DECLINES
from referrals.transitions import OPEN_STATUSES, ReferralStatus
from rota.selectors import OnDuty, RotaOverview, rota_overview
from services.codes import ServiceType
from services.models import Team
from spoc.audit.services import access_log_read

# Each list shows at most this many, most urgent first; the heading gives the full count.
BOARD_LIMIT = 100
NOT_YET_CONTACTED = (ReferralStatus.QUEUED, ReferralStatus.ACCEPTED)


@dataclass(frozen=True)
class BoardSection:
    key: str
    title: str
    action: str
    rows: list[Referral]
    total: int
    tone: str = "grey"


@dataclass(frozen=True)
class MatchRow:
    """An open possible match: the record a partner's message registered (None once gone) with
    the referrals on it, and the patient the hub already knew."""

    match: PossibleMatch
    new: Patient | None
    known: Patient
    referrals: list[Referral]


@dataclass(frozen=True)
class Board:
    sections: list[BoardSection]
    now: datetime
    # Routing is late: referrals awaiting routing past the alert age (also on /healthz).
    routing_alert: int = 0
    teams: list[Team] = field(default_factory=list)
    # Open possible matches, most recent first (at most BOARD_LIMIT), and how many are open.
    matches: list[MatchRow] = field(default_factory=list)
    matches_total: int = 0
    # Messages to senders and letters to GP practices that could not be delivered, oldest first
    # (at most BOARD_LIMIT), and how many there are (docs/interop.md, "The referrer hears back").
    undelivered: list[Undelivered] = field(default_factory=list)
    undelivered_total: int = 0
    # The duty rota (docs/operations.md "The duty rota"): who is on duty now in the teams that
    # keep one, and the gaps of the next ROTA_GAP_LOOKAHEAD_HOURS while their service is open.
    rota: RotaOverview | None = None

    @property
    def rota_hours(self) -> int:
        return int(settings.ROTA_GAP_LOOKAHEAD_HOURS)

    @property
    def on_duty(self) -> list[tuple[Team, list[OnDuty]]]:
        """The active teams that keep a rota, by name, with who is on duty now."""
        if self.rota is None:
            return []
        return [(t, self.rota.on_duty[t.pk]) for t in self.teams if t.pk in self.rota.on_duty]

    @property
    def total(self) -> int:
        return sum(section.total for section in self.sections)


def _rows(queryset: QuerySet[Referral], order: str) -> tuple[list[Referral], int]:
    rows = list(
        queryset.select_related("patient", "team", "owner", "sender").order_by(order, "pk")[
            : BOARD_LIMIT + 1
        ]
    )
    if len(rows) <= BOARD_LIMIT:
        return rows, len(rows)
    return rows[:BOARD_LIMIT], queryset.count()


def _open_matches(user: Any) -> QuerySet[PossibleMatch]:
    """Open possible matches whose known patient the user may see (and whose new record, while
    it is there, too)."""
    visible = patients_visible_to(user)
    return PossibleMatch.objects.filter(
        status=PossibleMatch.Status.OPEN, candidate__in=visible
    ).filter(Q(patient__isnull=True) | Q(patient__in=visible))


def possible_matches(*, user: Any) -> tuple[list[MatchRow], int]:
    """The open possible matches, most recent first, at most BOARD_LIMIT, each with the referrals
    on the new record (those the user may see), and how many are open: two queries, three when
    more are open than shown."""
    matches = list(
        _open_matches(user)
        .select_related("patient__created_by_partner", "candidate")
        .order_by("-found_at", "-pk")[: BOARD_LIMIT + 1]
    )
    total = len(matches) if len(matches) <= BOARD_LIMIT else _open_matches(user).count()
    matches = matches[:BOARD_LIMIT]
    new_ids = [m.patient_id for m in matches if m.patient_id is not None]
    by_patient: dict[int, list[Referral]] = {}
    if new_ids:
        for referral in (
            referrals_visible_to(user)
            .filter(patient_id__in=new_ids)
            .select_related("sender")
            .order_by("created_at", "pk")
        ):
            by_patient.setdefault(referral.patient_id, []).append(referral)
    rows = [
        MatchRow(
            match=m,
            new=m.patient,
            known=m.candidate,
            referrals=by_patient.get(m.patient_id, []) if m.patient_id is not None else [],
        )
        for m in matches
    ]
    return rows, total


def coordinator_board(*, user: Any, now: datetime) -> Board:
    """The board for a coordinator: waiting to route, unroutable, twice declined, not accepted
    in time, first contact at risk, and breached, and the open possible patient matches; its read
    is access-logged with how many referrals and matches it holds."""
    visible = referrals_visible_to(user)
    sweep_age = timedelta(seconds=settings.ROUTING_SWEEP_AFTER_SECONDS)
    alert_age = timedelta(seconds=settings.ROUTING_ALERT_AFTER_SECONDS)
    # Waiting since it was saved, declined or sent back for routing (its last change).
    waiting, waiting_total = _rows(
        visible.filter(status=ReferralStatus.AWAITING_ROUTING, updated_at__lt=now - sweep_age),
        "updated_at",
    )
    fallback = list(
        visible.filter(status__in=NOT_YET_CONTACTED, team__service__service_type=ServiceType.SPOC)
        .select_related("patient", "team", "owner", "sender")
        .order_by("contact_by", "pk")[: BOARD_LIMIT * 2]
    )
    twice = [r for r in fallback if len(r.declined_service_ids) >= MAX_DECLINES]
    unroutable = [r for r in fallback if len(r.declined_service_ids) < MAX_DECLINES]
    partner = visible.filter(status__in=NOT_YET_CONTACTED).exclude(
        team__service__service_type=ServiceType.SPOC
    )
    not_contacted = partner.filter(first_contact_at__isnull=True)
    accept_late, accept_total = _rows(
        partner.filter(status=ReferralStatus.QUEUED, accept_by__lte=now).exclude(
            first_contact_at__isnull=True, contact_by__lte=now
        ),
        "accept_by",
    )
    at_risk, at_risk_total = _rows(
        not_contacted.filter(at_risk_at__lte=now, contact_by__gt=now), "contact_by"
    )
    breached, breached_total = _rows(not_contacted.filter(contact_by__lte=now), "contact_by")
    # An urgent alert nobody acknowledged with nobody left to text (referrals/services/alerts.py).
    unacknowledged, unacknowledged_total = _rows(
        visible.filter(status__in=OPEN_STATUSES).filter(
            Exists(
                Alert.objects.filter(
                    referral=OuterRef("pk"), end=Alert.End.NOBODY, acknowledged_at__isnull=True
                )
            )
        ),
        "created_at",
    )
    sections = [
        BoardSection(
            "unacknowledged",
            "Urgent alert: nobody acknowledged",
            "Nobody on duty could be texted, or nobody answered: call the team's duty phone, "
            "then acknowledge it on the referral.",
            unacknowledged,
            unacknowledged_total,
            "red" if unacknowledged else "grey",
        ),
        BoardSection(
            "waiting",
            "Waiting to be routed",
            "Routing is late: check /healthz and the worker; route by hand if it cannot wait.",
            waiting,
            waiting_total,
            "red" if waiting else "grey",
        ),
        BoardSection(
            "unroutable",
            "No service could take these",
            "Find a service that can help (call its duty phone) and route by hand, with a reason.",
            unroutable[:BOARD_LIMIT],
            len(unroutable),
            "orange" if unroutable else "grey",
        ),
        BoardSection(
            "declined",
            "Declined twice",
            "Talk to the teams that declined, then route by hand, with a reason.",
            twice[:BOARD_LIMIT],
            len(twice),
            "orange" if twice else "grey",
        ),
        BoardSection(
            "breached",
            "First contact overdue (breached)",
            "Call the team's duty phone; hold, re-prioritise or route elsewhere.",
            breached,
            breached_total,
            "red" if breached else "grey",
        ),
        BoardSection(
            "accept",
            "Not accepted in time",
            "Call the team's duty phone to make sure someone has seen it.",
            accept_late,
            accept_total,
            "orange" if accept_late else "grey",
        ),
        BoardSection(
            "at_risk",
            "First contact at risk (75% of the time gone)",
            "Check the team has it in hand.",
            at_risk,
            at_risk_total,
            "yellow" if at_risk else "grey",
        ),
    ]
    routing_alert = visible.filter(
        status=ReferralStatus.AWAITING_ROUTING, updated_at__lt=now - alert_age
    ).count()
    teams = list(
        Team.objects.filter(service__status="ACTIVE").select_related("service").order_by("name")
    )
    matches, matches_total = possible_matches(user=user)
    undelivered, undelivered_total = outbox_undelivered(user=user, limit=BOARD_LIMIT)
    board = Board(
        sections=sections,
        now=now,
        routing_alert=routing_alert,
        teams=teams,
        matches=matches,
        matches_total=matches_total,
        undelivered=undelivered,
        undelivered_total=undelivered_total,
        rota=rota_overview(now=now, hours=settings.ROTA_GAP_LOOKAHEAD_HOURS),
    )
    access_log_read(
        object_type="coordinator_board",
        detail={
            "referrals": board.total,
            "possible_matches": matches_total,
            "undelivered_messages": undelivered_total,
        },
    )
    return board


def board_version(*, user: Any, now: datetime) -> str:
    """Changes whenever a referral the board could show changes, a possible match is found or
    decided, or a message fails or is sent again: three cheap queries, for polls."""
    latest = (
        referrals_visible_to(user)
        .filter(status__in=(ReferralStatus.AWAITING_ROUTING, *NOT_YET_CONTACTED))
        .order_by("-updated_at")
        .values_list("updated_at", flat=True)
        .first()
    )
    # How many matches are open and the newest: a match found or decided changes one of them.
    matches = _open_matches(user).aggregate(n=Count("pk"), last=Max("pk"))
    # The same of the messages not delivered: one failing or sent again changes them.
    failed = (
        OutboxMessage.objects.filter(outbox_visible_to(user))
        .filter(status=OutboxMessage.Status.FAILED)
        .aggregate(n=Count("pk"), last=Max("pk"))
    )
    # A clock passing changes the board too: the minute is part of the version.
    return (
        f"{latest.isoformat() if latest else '-'}|{matches['n']}:{matches['last'] or 0}"
        f"|{failed['n']}:{failed['last'] or 0}|{now:%Y%m%d%H%M}"
    )
