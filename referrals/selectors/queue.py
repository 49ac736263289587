"""Reads for the nurse's work (docs/design.md §1, §6): the team queue, most at risk first, the
nurse's own caseload, the printable queue, the navigation count and the referral page.

The clock badges are computed from stored deadlines, the same way everywhere:

- **breached**: ``contact_by`` has passed and there has been no first contact (queued or
  accepted);
- **at risk**: not breached, but 75% of the time from the clock's start to ``contact_by`` is gone
  (``at_risk_at``, stored with the other deadlines by `referrals.services.clocks`);
- **accept overdue**: ``accept_by`` has passed while the referral is still queued.

The team queue comes in two sections: **waiting to be claimed** (``QUEUED``) first, by priority
(P1 first), then breached, at risk and the nearest deadline within a priority, so a new P1 is
always the first row; then **in progress** (the other queue statuses), breached, at risk and the
nearest deadline first, whatever their priority (someone already has them).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    F,
    Max,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    prefetch_related_objects,
)
from django.utils import timezone

from patients.models import Assessment, RelatedPerson
from patients.selectors import age_on
from referrals.bereavement import screen_event_lines
from referrals.codes import DeclineReason, InterventionType, ReferralOutcome
from referrals.models import (
    Alert,
    BereavementScreen,
    Intervention,
    QueueDetailsVersion,
    Referral,
    ReferralEvent,
)
from referrals.selectors import referrals_visible_to, sees_whole_team
from referrals.services.routing import MAX_DECLINES
from referrals.transitions import QUEUE_STATUSES, ReferralStatus
from services.codes import Need, Priority, ServiceStatus
from services.models import Team, TeamMembership
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_list_shown, access_log_read
from spoc.core.dates import nhs_datetime_short, nhs_duration, nhs_time
from spoc.core.pauses import RestingCache

logger = logging.getLogger(__name__)

CASELOAD_STATUSES = (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS, ReferralStatus.ON_HOLD)
NOT_CONTACTED = (ReferralStatus.QUEUED, ReferralStatus.ACCEPTED)
# The queue page shows at most this many, most urgent first; filters narrow it.
QUEUE_LIMIT = 100
# Waiting referrals of these priorities are highlighted on the queue and raise its banner
# (P1 Emergency, P2 Urgent: 2-hour response) until someone claims them.
URGENT_PRIORITIES = (Priority.P1, Priority.P2)


# What a queue row reads of a referral, its patient, its owner and whom it is for: plain values,
# not model instances (a page of 100 rows built 400 of them).
ROW_FIELDS = (
    "id",
    "priority",
    "status",
    "need",
    "created_at",
    "accept_by",
    "contact_by",
    "at_risk_at",
    "first_contact_at",
    "accepted_at",
    "hold_reason",
    "owner_id",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
    "patient_id",
    "patient__family_name",
    "patient__given_name",
    "patient__nhs_number",
    "patient__date_of_birth",
    "patient__postcode",
    "for_person_id",
    "for_person__family_name",
    "for_person__given_name",
    "for_person__relationship",
    "for_person__is_main_carer",
    "for_person__phone",
    "for_person__postcode",
)
NEED_LABELS = dict(Referral._meta.get_field("need").flatchoices)
STATUS_LABELS = dict(Referral._meta.get_field("status").flatchoices)


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A referral as the queue shows it, with its clock badges at ``now``: the values a row
    displays, read without building the referral, its patient and its owner."""

    pk: int
    priority: str
    status: str
    need_label: str
    status_label: str
    # The row's times as people read them (spoc/core/dates.py), written once here rather than by
    # a template filter per cell: how long it has waited, the deadlines ("" when none), when it
    # was first contacted and when its owner claimed it.
    waiting: str
    accept_by: str
    contact_by: str
    contacted: str
    claimed: str
    hold_reason: str
    owner_id: int | None
    owner_name: str
    patient_id: int
    patient_name: str  # FAMILY, Given
    nhs_number: str  # spaced 3-3-4, or "" when the patient has none
    # Whom the referral is for when not the patient (unsaved, for templates/referrals/_for_person.html).
    for_person: RelatedPerson | None
    breached: bool
    at_risk: bool
    accept_overdue: bool
    age: int | None
    area: str

    @property
    def urgent_waiting(self) -> bool:
        """A P1 or P2 nobody has claimed yet: the row the queue highlights."""
        return self.status == ReferralStatus.QUEUED and self.priority in URGENT_PRIORITIES


def _owner_name(values: dict[str, Any]) -> str:
    """The owner as `spoc.accounts.models.User.display_name` writes it; "" for none."""
    if values["owner_id"] is None:
        return ""
    last, first = values["owner__last_name"], values["owner__first_name"]
    return f"{last.upper()}, {first}".rstrip(", ") if last else values["owner__username"]


def _for_person(values: dict[str, Any]) -> RelatedPerson | None:
    if values["for_person_id"] is None:
        return None
    return RelatedPerson(
        pk=values["for_person_id"],
        patient_id=values["patient_id"],
        family_name=values["for_person__family_name"],
        given_name=values["for_person__given_name"],
        relationship=values["for_person__relationship"],
        is_main_carer=values["for_person__is_main_carer"],
        phone=values["for_person__phone"],
        postcode=values["for_person__postcode"],
    )


def _row(values: dict[str, Any], now: datetime, today: date) -> QueueRow:
    status, contact_by = values["status"], values["contact_by"]
    at_risk_at, accept_by = values["at_risk_at"], values["accept_by"]
    not_contacted = status in NOT_CONTACTED and values["first_contact_at"] is None
    breached = not_contacted and contact_by is not None and contact_by < now
    at_risk = not breached and not_contacted and at_risk_at is not None and at_risk_at <= now
    born, nhs = values["patient__date_of_birth"], values["patient__nhs_number"]
    return QueueRow(
        pk=values["id"],
        priority=values["priority"],
        status=status,
        need_label=NEED_LABELS.get(values["need"], values["need"]),
        status_label=STATUS_LABELS.get(status, status),
        waiting=nhs_duration(now - values["created_at"]),
        accept_by=nhs_datetime_short(accept_by, today=today),
        contact_by=nhs_datetime_short(contact_by, today=today),
        contacted=nhs_datetime_short(values["first_contact_at"], today=today),
        claimed=nhs_time(values["accepted_at"]),
        hold_reason=values["hold_reason"],
        owner_id=values["owner_id"],
        owner_name=_owner_name(values),
        patient_id=values["patient_id"],
        patient_name=f"{values['patient__family_name'].upper()}, {values['patient__given_name']}",
        nhs_number=f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" if nhs else "",
        for_person=_for_person(values),
        breached=breached,
        at_risk=at_risk,
        accept_overdue=(
            status == ReferralStatus.QUEUED and accept_by is not None and accept_by < now
        ),
        age=age_on(born, today) if born else None,
        # Postcodes are stored normalised ("L9 7AL"): the outward code is the part before the space.
        area=(values["patient__postcode"] or "").split(" ")[0],
    )


def _rows(referrals: QuerySet[Referral], now: datetime) -> list[QueueRow]:
    """The rows of ``referrals`` in its order (one query)."""
    today = timezone.localdate(now)
    return [_row(values, now, today) for values in referrals.values(*ROW_FIELDS)]


def _most_at_risk_first(referrals: QuerySet[Referral], now: datetime) -> QuerySet[Referral]:
    """Breached first, then at risk, then by the nearest first-contact and accept deadlines: in
    SQL, so that a long queue can be cut to its most urgent rows."""
    not_contacted = Q(status__in=NOT_CONTACTED, first_contact_at__isnull=True)
    return referrals.annotate(
        breached_first=Case(
            When(not_contacted & Q(contact_by__lt=now), then=Value(0)), default=Value(1)
        ),
        at_risk_first=Case(
            When(not_contacted & Q(at_risk_at__lte=now), then=Value(0)), default=Value(1)
        ),
    ).order_by("breached_first", "at_risk_first", "contact_by", "accept_by", "id")


def _waiting_first_by_priority(referrals: QuerySet[Referral], now: datetime) -> QuerySet[Referral]:
    """The team queue's order (module docstring): waiting to be claimed first, by priority, then
    in progress; each section most at risk first. In SQL on the columns of the partial index
    ``referral_open_queue``, so the order of a long queue is decided by an index-only scan."""
    waiting = Q(status=ReferralStatus.QUEUED)
    by_risk = _most_at_risk_first(referrals, now)
    return by_risk.annotate(
        waiting_first=Case(When(waiting, then=Value(0)), default=Value(1)),
        # Priority codes sort as their urgency ("P1" < "P2" < ... < "P5"); in progress ignores it.
        waiting_priority=Case(When(waiting, then=F("priority")), default=Value("")),
    ).order_by(
        "waiting_first",
        "waiting_priority",
        "breached_first",
        "at_risk_first",
        "contact_by",
        "accept_by",
        "id",
    )


# The badge filters of the queue (a team lead's "what is at risk now").
FLAGS = {"breached": "Breached", "at_risk": "At risk", "accept_overdue": "Accept overdue"}


@dataclass(frozen=True)
class TeamQueue:
    """The rows of a team queue page in its two sections, with how many each section holds in
    all (more than its rows when the page is cut to its ``limit`` most urgent)."""

    waiting: list[QueueRow]
    in_progress: list[QueueRow]
    waiting_total: int
    in_progress_total: int

    @property
    def rows(self) -> list[QueueRow]:
        """Every row shown, in the queue's order."""
        return [*self.waiting, *self.in_progress]

    @property
    def total(self) -> int:
        return self.waiting_total + self.in_progress_total


# The start of a kept queue's key names what it holds (the values of ROW_FIELDS, in a tuple of
# format 1 with the two totals), so that while nodes of two releases share Redis neither reads
# rows the other kept.
KEPT_FORMAT = "team-queue-" + hashlib.sha256(",".join(("1", *ROW_FIELDS)).encode()).hexdigest()[:12]


# The queue's cache, left alone for a while after it failed (the rows are read from the database).
QUEUE_CACHE = RestingCache(
    "queue",
    logger=logger,
    message="Team queue cache unreachable: queues read from the database for %s s.",
)


def _first_priorities(state: QueueState | None, limit: int) -> list[str]:
    """The fewest priorities, most urgent first, whose referrals waiting to be claimed fill a
    page of ``limit`` rows by the counts of ``state``; none when they do not (or without a
    state, or when a referral waiting has a priority that is not one of the codes).

    Every row the queue puts after these (the waiting of a later priority, every row in
    progress) comes after all of theirs, so a page of ``limit`` rows read from these alone is
    the queue's first ``limit``: the order then sorts a few priorities' waiting rows read from
    ``referral_open_queue`` instead of every open referral of the team. The counts may be a
    second older than the rows (QUEUE_STATE_KEPT_SECONDS): fewer than ``limit`` rows read from
    these priorities means they were, and the whole queue is ordered instead."""
    if state is None or sum(state.waiting_by_priority.values()) != state.waiting_count:
        return []
    chosen: list[str] = []
    waiting = 0
    for priority in Priority.values:
        chosen.append(priority)
        waiting += state.waiting_by_priority[priority]
        if waiting >= limit:
            return chosen
    return []


def _queue_values(
    referrals: QuerySet[Referral], now: datetime, limit: int | None, state: QueueState | None
) -> tuple[list[dict[str, Any]], int, int]:
    """The values (ROW_FIELDS) of the ``limit`` first of ``referrals`` in the queue's order, with
    how many there are in all and how many of them wait to be claimed: two queries, or three
    when the page is cut short and ``state`` (the counts of the unfiltered queue) cannot say.
    With ``state``, the order reads only the priorities waiting that fill the page
    (`_first_priorities`), and the whole queue only when they do not (one query more when the
    state's counts were older than the rows)."""
    # The order is decided on the narrow columns alone, then the chosen rows are read with
    # their patient and owner (sorting whole rows of a long queue would spill to disk).
    ordered = _waiting_first_by_priority(referrals, now).values_list("pk", flat=True)
    if limit is None:
        ids = list(ordered)
    else:
        priorities = _first_priorities(state, limit)
        ids = (
            list(ordered.filter(status=ReferralStatus.QUEUED, priority__in=priorities)[:limit])
            if priorities
            else []
        )
        if len(ids) < limit:
            ids = list(ordered[:limit])
    position = {pk: index for index, pk in enumerate(ids)}
    values = sorted(
        referrals.filter(pk__in=ids).values(*ROW_FIELDS), key=lambda row: position[row["id"]]
    )
    if limit is None or len(ids) < limit:
        waiting = sum(1 for row in values if row["status"] == ReferralStatus.QUEUED)
        return values, len(values), waiting
    if state is not None:
        return values, state.open_count, state.waiting_count
    # Counting in the order query instead (a window over every row) costs more than this
    # index-only count, and only a filtered page cut short needs it.
    counts = referrals.aggregate(
        total=Count("id"), waiting=Count("id", filter=Q(status=ReferralStatus.QUEUED))
    )
    return values, counts["total"], counts["waiting"]


def team_queue(
    *,
    user: Any,
    team: Team,
    now: datetime,
    status: str = "",
    priority: str = "",
    need: str = "",
    flag: str = "",
    limit: int | None = QUEUE_LIMIT,
    state: QueueState | None = None,
    shown: str = "",
    reuse: bool = False,
) -> TeamQueue:
    """Open referrals of the team, optionally filtered (``flag``: one of FLAGS), in the queue's
    order (module docstring): the ``limit`` most urgent (None: all, for the printable queue).
    Two queries: the order, then the chosen rows with their patient and owner (the order is
    asked twice when ``state``'s counts are older than the rows: `_first_priorities`).

    ``shown``: how a person sees the rows, access-logged: ``AccessLog.Action.LIST`` (the queue
    page: how many patients) or ``AccessLog.Action.EXPORT`` (printed: how many rows).

    Each section's total is counted from its rows, unless the page is cut to ``limit``: then an
    unfiltered page takes the counts of ``state`` (`team_queue_state`, read just before), and
    otherwise one more query counts them.

    With ``state``, the rows' values are kept in the ``queue`` cache (Redis, shared by every web
    process) under the queue's version, its filters and ``limit``, for whoever sees the team's
    queue whole; with ``reuse`` (a poll), values kept under the same version are taken instead
    of the two or three queries. Every row is still drawn at ``now`` (how long it has waited,
    its badges), and the access log is written as for rows read. A full page always reads
    afresh, so reloading shows the database as it is even if a change escaped the version."""
    referrals = referrals_visible_to(user).filter(team=team, status__in=QUEUE_STATUSES)
    if status:
        referrals = referrals.filter(status=status)
    if priority:
        referrals = referrals.filter(priority=priority)
    if need:
        referrals = referrals.filter(need=need)
    not_contacted = Q(status__in=NOT_CONTACTED, first_contact_at__isnull=True)
    if flag == "breached":
        referrals = referrals.filter(not_contacted & Q(contact_by__lt=now))
    elif flag == "at_risk":
        referrals = referrals.filter(
            not_contacted & Q(at_risk_at__lte=now) & ~Q(contact_by__lt=now)
        )
    elif flag == "accept_overdue":
        referrals = referrals.filter(status=ReferralStatus.QUEUED, accept_by__lt=now)
    unfiltered = not (status or priority or need or flag)
    key = (
        ":".join(
            (KEPT_FORMAT, str(team.pk), state.version, status, priority, need, flag, str(limit))
        )
        if state is not None and limit is not None and sees_whole_team(user, team.pk)
        else ""
    )
    values, total, waiting_total = QUEUE_CACHE.kept_or_read(
        key,
        reuse=reuse,
        read=lambda: _queue_values(referrals, now, limit, state if unfiltered else None),
    )
    today = timezone.localdate(now)
    rows = [_row(row_values, now, today) for row_values in values]
    waiting = [row for row in rows if row.status == ReferralStatus.QUEUED]
    in_progress = [row for row in rows if row.status != ReferralStatus.QUEUED]
    if shown == AccessLog.Action.LIST:
        access_log_list_shown(
            object_type="team_queue",
            object_id=team.pk,
            patient_ids=(row.patient_id for row in rows),
        )
    elif shown == AccessLog.Action.EXPORT:
        access_log_read(
            action=AccessLog.Action.EXPORT,
            object_type="team_queue",
            object_id=team.pk,
            detail={"rows": len(rows), "format": "print"},
        )
    return TeamQueue(
        waiting=waiting,
        in_progress=in_progress,
        waiting_total=waiting_total,
        in_progress_total=total - waiting_total,
    )


@dataclass(frozen=True)
class QueueState:
    version: str
    open_count: int
    # Referrals waiting to be claimed, in all and of each priority (Priority's codes).
    waiting_count: int
    waiting_by_priority: dict[str, int]
    # Changes whenever the set of urgent referrals waiting does: the page's banner is redrawn
    # (and so announced again) only then.
    urgent_version: str

    @property
    def urgent_waiting(self) -> dict[str, int]:
        """The referrals waiting to be claimed of each urgent priority (URGENT_PRIORITIES)."""
        return {str(p): self.waiting_by_priority[p] for p in URGENT_PRIORITIES}

    @property
    def urgent_count(self) -> int:
        return sum(self.urgent_waiting.values())


# The start of a kept state's key, as KEPT_FORMAT for rows: QueueState's fields, in order.
STATE_FORMAT = (
    "team-queue-state-"
    + hashlib.sha256(
        ",".join(("1", *(field.name for field in fields(QueueState)))).encode()
    ).hexdigest()[:12]
)


def team_queue_state(*, user: Any, team: Team, now: datetime, reuse: bool = False) -> QueueState:
    """How many referrals are open in the team's queue, how many wait to be claimed and how many
    of those are urgent (URGENT_PRIORITIES), and a short fingerprint that changes whenever the
    queue or one of its badges does, so that a poll can answer "nothing changed" without
    rendering (one aggregate query, over the columns of ``referral_open_queue``).

    For whoever sees the team's queue whole, the state read is kept in the ``queue`` cache for
    QUEUE_STATE_KEPT_SECONDS; with ``reuse`` (a poll) a state kept is taken instead of the
    query, so the team's open tabs polling in the same second ask the database once. A change
    then reaches a tab at its first poll that starts that long after it; a full page always
    reads afresh (and keeps what it read)."""
    seconds = settings.QUEUE_STATE_KEPT_SECONDS
    key = f"{STATE_FORMAT}:{team.pk}" if seconds and sees_whole_team(user, team.pk) else ""
    return QUEUE_CACHE.kept_or_read(
        key, reuse=reuse, read=lambda: _queue_state_read(user, team, now), timeout=seconds
    )


def _queue_state_read(user: Any, team: Team, now: datetime) -> QueueState:
    not_contacted = Q(status__in=NOT_CONTACTED, first_contact_at__isnull=True)
    # One row per status and priority, read in the order of ``referral_open_queue``'s keys: no
    # hashing, and three filtered counts a referral instead of one per status and priority.
    groups = list(
        referrals_visible_to(user)
        .filter(team=team, status__in=QUEUE_STATUSES)
        .values("status", "priority")
        .annotate(
            n=Count("id"),
            last=Max("updated_at"),
            breached=Count("id", filter=not_contacted & Q(contact_by__lt=now)),
            at_risk=Count("id", filter=not_contacted & Q(at_risk_at__lte=now)),
            overdue=Count("id", filter=Q(status=ReferralStatus.QUEUED, accept_by__lt=now)),
            ids=Sum("id"),
            # What the rows show from the patients, the people they are for and their owners
            # (referrals.models.QueueDetailsVersion): one look-up by key, in the same query.
            details=Max(
                Subquery(QueueDetailsVersion.objects.filter(team=team).values("version")[:1])
            ),
        )
        .order_by()
    )

    def total(name: str, **match: str) -> int:
        return sum(g[name] for g in groups if all(g[k] == v for k, v in match.items()))

    waiting = ReferralStatus.QUEUED
    waiting_by_priority = {p: total("n", status=waiting, priority=p) for p in Priority.values}
    # With the counts, the sum of the ids tells one set of urgent referrals from another (one
    # claimed and another arrived between two polls).
    urgent_ids = sum(total("ids", status=waiting, priority=p) for p in URGENT_PRIORITIES)
    urgent_version = "-".join(
        [*(str(waiting_by_priority[p]) for p in URGENT_PRIORITIES), str(urgent_ids)]
    )
    latest = max((g["last"] for g in groups if g["last"]), default=None)
    last = latest.isoformat() if latest else "-"
    # How many of each status: a claim, a first contact or a hold changes the version even when
    # the referral's updated_at is not the latest (stamped before a commit that lands after
    # another's).
    statuses = "-".join(str(total("n", status=s)) for s in QUEUE_STATUSES)
    details = max((g["details"] or 0 for g in groups), default=0)
    breached, at_risk, overdue = (total(name) for name in ("breached", "at_risk", "overdue"))
    return QueueState(
        version=(
            f"{team.pk}:{total('n')}:{last}:{breached}:{at_risk}:{overdue}"
            f":{statuses}:{urgent_version}:{details}"
        ),
        open_count=total("n"),
        waiting_count=total("n", status=waiting),
        waiting_by_priority=waiting_by_priority,
        urgent_version=urgent_version,
    )


def caseload_for(*, user: Any, now: datetime) -> list[QueueRow]:
    """The referrals this nurse holds (accepted, in progress or on hold) across her teams, most at
    risk first, access-logged as a list. One query."""
    referrals = (
        referrals_visible_to(user)
        .filter(owner=user, status__in=CASELOAD_STATUSES, team__memberships__user=user)
        .distinct()
    )
    rows = _rows(_most_at_risk_first(referrals, now), now)
    access_log_list_shown(object_type="caseload", patient_ids=(row.patient_id for row in rows))
    return rows


def queued_count_for(*, user: Any) -> int:
    """Referrals waiting to be claimed in the user's teams (the navigation badge). One query."""
    return Referral.objects.filter(
        status=ReferralStatus.QUEUED, team__memberships__user=user
    ).count()


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def event_details(event: ReferralEvent) -> list[str]:
    """What an event's data says, in words, for the referral's history (no query)."""
    data = event.data or {}
    lines: list[str] = []
    if event.kind == ReferralEvent.Kind.DECLINED and data.get("reason"):
        lines.append(f"Reason: {_label(DeclineReason, data['reason'])}")
    elif data.get("reason"):
        lines.append(f"Reason: {data['reason']}")
    if data.get("note"):
        lines.append(f"Note: {data['note']}")
    if event.kind == ReferralEvent.Kind.REASSIGNED:
        lines.append(f"From {data.get('from') or 'nobody'} to {data.get('to', '')}")
    if event.kind == ReferralEvent.Kind.REPRIORITISED:
        lines.append(f"From {data.get('from', '')} to {data.get('to', '')}")
    if data.get("team_name") and event.kind != ReferralEvent.Kind.DECLINED:
        lines.append(f"To {data['team_name']}")
    if event.kind == ReferralEvent.Kind.COMPLETED and data.get("outcome"):
        lines.append(f"Outcome: {_label(ReferralOutcome, data['outcome'])}")
    if event.kind == ReferralEvent.Kind.INTERVENTION and data.get("kind"):
        avoided = (
            f", admission avoided ({data.get('bed_days_saved')} bed days)"
            if data.get("admission_avoided")
            else ""
        )
        if data.get("primary_care_contact_avoided"):
            avoided += ", primary-care contact avoided"
        lines.append(f"{_label(InterventionType, data['kind'])}{avoided}")
    if event.kind == ReferralEvent.Kind.RESUMED and data.get("held_minutes") is not None:
        lines.append(f"Held for {data['held_minutes']} min")
    if event.kind in ALERT_KINDS:
        lines += _alert_details(event.kind, data)
    if event.kind == ReferralEvent.Kind.BEREAVEMENT_SCREENED:
        lines += screen_event_lines(data)
    return lines


ALERT_KINDS = frozenset(
    {
        ReferralEvent.Kind.ALERT_SENT,
        ReferralEvent.Kind.ALERT_DELIVERED,
        ReferralEvent.Kind.ALERT_FAILED,
        ReferralEvent.Kind.ALERT_ACKNOWLEDGED,
        ReferralEvent.Kind.ALERT_NOBODY,
    }
)


def _alert_details(kind: str, data: dict[str, Any]) -> list[str]:
    """An urgent alert's event in words: why, to whom as what, which message of the chain."""
    lines: list[str] = []
    reasons = data.get("alert_reasons") or (
        [data["alert_reason"]] if data.get("alert_reason") else []
    )
    if reasons:
        lines.append("About: " + ", ".join(_label(Alert.Reason, r).lower() for r in reasons))
    if data.get("to"):
        again = ", sent again" if data.get("attempt", 1) > 1 else ""
        lines.append(f"To {data['to']} ({_label(Alert.Rung, data.get('rung', ''))}{again})")
    if kind == ReferralEvent.Kind.ALERT_FAILED:
        status = data.get("status")
        lines.append(
            _label(Alert.Status, status) if status else f"Refused: {data.get('error', '')}"
        )
    return lines


@dataclass(frozen=True)
class ReferralPage:
    referral: Referral
    # Each event with its details in words.
    events: list[tuple[ReferralEvent, list[str]]]
    interventions: list[Intervention]
    assessments: list[Assessment]
    # Its bereavement risk screen, with who answered it: None unless it is a bereavement
    # referral that has been screened.
    screen: BereavementScreen | None


# The bereavement risk screen, with who answered it (only a bereavement referral is screened:
# referrals/services/bereavement.py).
_SCREEN = "bereavement_screen__answered_by"

# What a referral page shows that most referrals do not have, each read only for a referral that
# has it (a query each): joined to every page's query instead, they made PostgreSQL plan a join
# of twelve tables, about 7 ms of its CPU a page (docs/performance.md, "Roles kept, the
# referral page's query, the call screen's fields, the alerts' starts").
_RARE_RELATIONS: dict[str, Callable[[Referral], bool]] = {
    "for_person": lambda referral: referral.for_person_id is not None,
    "for_person_consent_by": lambda referral: referral.for_person_consent_by_id is not None,
    "sender": lambda referral: referral.sender_id is not None,
    _SCREEN: lambda referral: referral.need == Need.BEREAVEMENT_SUPPORT,
}


def referral_page(*, user: Any, referral_id: int) -> ReferralPage | None:
    """A referral the user may see, with its whole history, its interventions and the
    assessments recorded on it (four queries, and one for each of `_RARE_RELATIONS` it has, its
    bereavement screen among them), its read access-logged; None when the user may not see it."""
    referral = (
        referrals_visible_to(user)
        .select_related("patient", "team__service", "owner", "call", "created_by")
        .filter(pk=referral_id)
        .first()
    )
    if referral is None:
        return None
    rare = [relation for relation, has in _RARE_RELATIONS.items() if has(referral)]
    prefetch_related_objects([referral], *rare)
    access_log_read(object_type="referral", object_id=referral.pk, patient_id=referral.patient_id)
    events = list(referral.events.select_related("actor", "team"))
    assessment_ids = [
        int(e.data["assessment_id"])
        for e in events
        if e.kind == ReferralEvent.Kind.ASSESSED and e.data.get("assessment_id")
    ]
    assessments = (
        list(Assessment.objects.filter(pk__in=assessment_ids).select_related("assessed_by"))
        if assessment_ids
        else []
    )
    return ReferralPage(
        referral=referral,
        events=[(e, event_details(e)) for e in events],
        interventions=list(referral.interventions.select_related("by")),
        assessments=assessments,
        screen=getattr(referral, "bereavement_screen", None) if _SCREEN in rare else None,
    )


def referral_shown(*, user: Any, referral_id: int) -> Referral | None:
    """A referral the user may see, with its team, owner and sender, its read access-logged (the
    API's answer; the page reads `referral_page`)."""
    referral = (
        referrals_visible_to(user)
        .select_related("team", "owner", "sender", "for_person", "for_person_consent_by")
        .filter(pk=referral_id)
        .first()
    )
    if referral is not None:
        access_log_read(
            object_type="referral", object_id=referral.pk, patient_id=referral.patient_id
        )
    return referral


def referral_list_page(
    *,
    user: Any,
    filters: Mapping[str, Any],
    paginate: Callable[[QuerySet[Referral]], tuple[list[Referral], int]],
) -> list[Referral]:
    """One page of the referrals the user may see, newest first, filtered by any of status,
    priority, need, patient, team, the team's service or organisation and the referral's own id;
    ``paginate`` cuts the page and says how many it found: the whole list (FHIR's searchset
    total) or the page alone (the API's cursor pages, which never count the whole). One patient's
    referrals is a look-up of their record, logged with that number only; any other list is
    logged with how many patients its page showed."""
    # No list shows the ranker's decision (about 9 KB of JSON a referral, parsed as each row is
    # loaded) or the team's duty phone (parsed into a PhoneNumber): left unread, a page of 50 is
    # tens of milliseconds quicker (docs/performance.md, "API lists").
    rows = (
        referrals_visible_to(user)
        .select_related("team", "owner", "for_person")
        .defer("routing_decision", "team__duty_phone")
    )
    for name in ("status", "priority", "need"):
        if name in filters:
            rows = rows.filter(**{name: filters[name]})
    for name, field in (
        ("id", "pk"),
        ("patient", "patient_id"),
        ("team", "team_id"),
        ("service", "team__service_id"),
        ("organisation", "team__service__organisation_id"),
    ):
        if name in filters:
            rows = rows.filter(**{field: filters[name]})
    page, count = paginate(rows.order_by("-created_at", "-id"))
    if "patient" in filters:
        access_log_read(
            action=AccessLog.Action.SEARCH,
            object_type="referral",
            patient_id=filters["patient"],
            detail={"results": count},
        )
    else:
        access_log_list_shown(object_type="referral_list", patient_ids=(r.patient_id for r in page))
    return page


def reassign_options(*, referral: Referral) -> list[tuple[int, str]]:
    """The other members of the referral's team, who may be given it (one query)."""
    if referral.team_id is None:
        return []
    members = (
        TeamMembership.objects.filter(team_id=referral.team_id)
        .exclude(user_id=referral.owner_id or 0)
        .select_related("user")
        .order_by("user__last_name", "user__first_name")
    )
    return [(m.user.pk, m.user.display_name()) for m in members]


def route_options() -> list[tuple[int, str]]:
    """Teams of active services a referral may be routed to by hand (one query)."""
    teams = Team.objects.filter(service__status=ServiceStatus.ACTIVE).order_by("name")
    return [(t.pk, t.name) for t in teams]


def team_must_be_chosen(referral: Referral) -> bool:
    """Routing by hand is the only way on: the referral awaits routing (routing again is not
    open), or partner teams have declined it as often as routing allows (the ranker would only
    send it back to the coordinators)."""
    return (
        referral.status == ReferralStatus.AWAITING_ROUTING
        or len(referral.declined_service_ids) >= MAX_DECLINES
    )
