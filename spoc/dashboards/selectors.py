"""The dashboard's figures, read from the summary tables (docs/metrics.md defines each one).

One function, ``dashboard_figures``, feeds the page, its CSV exports and the API, so the three
always show the same numbers. Its query count is fixed: one query per table whatever the rows.
"Now" figures (open caseload, breaches now, overdue referrals) read the open referrals as the
summary job last saw them (at most a minute or two old) and compare their due times with now.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from patients.codes import DiagnosisGroup, EthnicCategory
from referrals.codes import InterventionType
from referrals.models import Referral
from referrals.transitions import ReferralStatus
from services.codes import CallerType, Need, Priority
from services.models import OrganisationMembership, Team, TeamMembership
from spoc.accounts.models import User
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_read
from spoc.dashboards import models as summaries
from spoc.dashboards.blocks import ALL_TEAMS, block_pieces

LONDON = ZoneInfo("Europe/London")
# Small-number suppression in cross-organisation views (docs/metrics.md "Access").
SUPPRESS_BELOW = 5
SUPPRESSED = "<5"
BED_DAY_COST_SOURCE = (
    "about £400 per bed day, from a Liverpool article on IMPaCT (docs/reference.md "
    '"Outcome measures"); set by BED_DAY_COST_GBP'
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# ON_HOLD is open (in the caseload) but its clocks are stopped, so it never breaches.
CLOCK_RUNNING_STATUSES = (
    ReferralStatus.AWAITING_ROUTING,
    ReferralStatus.QUEUED,
    ReferralStatus.ACCEPTED,
)


class DashboardForbidden(Exception):
    """The user may not see dashboards, or not for the team or organisation asked for (a 403 in
    the API)."""

    code = "not_permitted"


@dataclass(frozen=True)
class DashboardScope:
    """What one request may see, resolved from the user and the filters."""

    date_from: date
    date_to: date
    priority: str | None
    organisation_id: int | None
    team_id: int | None
    # None: every team (no team or organisation filter).
    team_ids: tuple[int, ...] | None
    # Counts of 1-4 become "<5".
    suppress: bool
    # The user's own organisation's teams: patient-level drill-down only there.
    own_team_ids: tuple[int, ...]
    # The teams whose feedback comments the user may read: a manager's own organisation's, within
    # the filters (spoc/dashboards/feedback.py).
    comment_team_ids: tuple[int, ...] = ()

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.date_from, time.min, tzinfo=LONDON)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=LONDON)


def dashboard_scope(
    *,
    user: Any,
    date_from: date,
    date_to: date,
    priority: str | None = None,
    organisation_id: int | None = None,
    team_id: int | None = None,
) -> DashboardScope:
    """Resolve who sees what. Managers: every organisation, with small numbers suppressed unless
    the view is limited to their own organisation. Team leads: their own teams only.

    Raises DashboardForbidden for anyone else, or a team lead asking for another team."""
    perms = user.get_all_permissions() if user.is_authenticated else set()
    org_id = (
        (
            OrganisationMembership.objects.filter(user=user)
            .values_list("organisation_id", flat=True)
            .first()
        )
        if user.is_authenticated
        else None
    )
    own = (
        tuple(Team.objects.filter(service__organisation_id=org_id).values_list("pk", flat=True))
        if org_id
        else ()
    )
    teams: tuple[int, ...] | None
    if "accounts.view_dashboards" in perms:
        if team_id is not None:
            teams = (team_id,)
        elif organisation_id is not None:
            teams = tuple(
                Team.objects.filter(service__organisation_id=organisation_id).values_list(
                    "pk", flat=True
                )
            )
        else:
            teams = None
        own_view = teams is not None and bool(teams) and set(teams) <= set(own)
        return DashboardScope(
            date_from,
            date_to,
            priority,
            organisation_id,
            team_id,
            teams,
            suppress=not own_view,
            own_team_ids=own,
            comment_team_ids=tuple(t for t in (own if teams is None else teams) if t in own),
        )
    if "accounts.lead_team" in perms:
        led = tuple(
            TeamMembership.objects.filter(user=user, role=TeamMembership.Role.LEAD).values_list(
                "team_id", flat=True
            )
        )
        if not led or (team_id is not None and team_id not in led):
            raise DashboardForbidden("Team leads see their own teams' dashboards only.")
        teams = (team_id,) if team_id is not None else led
        return DashboardScope(
            date_from, date_to, priority, None, team_id, teams, suppress=False, own_team_ids=own
        )
    raise DashboardForbidden("Dashboards are for managers and team leads.")


# --- Formatting helpers ------------------------------------------------------------------------


def _count(value: int, scope: DashboardScope) -> int | str:
    if scope.suppress and 0 < value < SUPPRESS_BELOW:
        return SUPPRESSED
    return value


def _pct(numerator: int, denominator: int, scope: DashboardScope) -> float | str | None:
    """A percentage to one decimal place; None without a denominator; suppressed when either part
    is a small number in a cross-organisation view."""
    if denominator == 0:
        return None
    if scope.suppress and (0 < numerator < SUPPRESS_BELOW or 0 < denominator < SUPPRESS_BELOW):
        return SUPPRESSED
    return round(100.0 * numerator / denominator, 1)


def percentile(histogram: dict[int, int], fraction: float) -> int | None:
    """Nearest-rank percentile of a minutes histogram: the smallest value with at least
    ``ceil(fraction * n)`` observations at or below it. None when empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for minutes in sorted(histogram):
        seen += histogram[minutes]
        if seen >= rank:
            return minutes
    return None  # pragma: no cover (unreachable: seen reaches total)


# The summary tables kept in blocks of days (spoc/dashboards/blocks.py); the others are read by date.
BLOCK_MODELS = (
    summaries.CallDayStat,
    summaries.ReferralDayStat,
    summaries.InterventionDayStat,
    summaries.ResponseBlockStat,
    summaries.DeathBlockStat,
    summaries.TelephonyWaitStat,
    summaries.CallBackDayStat,
    summaries.EquityReferralStat,
    summaries.EquityDeathStat,
)


def period_blocks(scope: DashboardScope) -> Q:
    """The blocks of days (spoc/dashboards/blocks.py) that make up the scope's period; none for a
    period that ends before it starts."""
    pieces = Q(pk__in=[])
    for level, start in block_pieces(scope.date_from, scope.date_to):
        pieces |= Q(level=level, local_date=start)
    return pieces


def _filtered(
    queryset: QuerySet[Any], scope: DashboardScope, *, teams: bool = True, priority: bool = True
) -> QuerySet[Any]:
    """The scope's rows of a summary table: by blocks of days for the tables kept in blocks, by
    local date for the others."""
    if queryset.model in BLOCK_MODELS:
        queryset = queryset.filter(period_blocks(scope))
    else:
        queryset = queryset.filter(local_date__gte=scope.date_from, local_date__lte=scope.date_to)
    if teams and scope.team_ids is not None:
        queryset = queryset.filter(team_id__in=scope.team_ids)
    if priority and scope.priority:
        queryset = queryset.filter(priority=scope.priority)
    return queryset


def _table(
    key: str,
    title: str,
    columns: list[str],
    rows: list[list[Any]],
    *,
    definition: str,
    chart: str | None = None,
) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "columns": columns,
        "rows": rows,
        "definition": definition,
        "chart": chart,
    }


def _label(choices: Any, code: str) -> str:
    return dict(choices.choices).get(code, code or "None")


# --- The figures -------------------------------------------------------------------------------


def dashboard_figures(*, scope: DashboardScope, now: datetime) -> dict[str, Any]:
    """Every tile and table of the dashboard for this scope. Tables are lists of rows with their
    column names, so the page, the CSV export and the API render the same values."""
    team_names = dict(Team.objects.values_list("pk", "name"))
    team_names[0] = "Not routed"
    tables: list[dict[str, Any]] = []
    tiles: list[dict[str, Any]] = []

    # Calls: the hub's line, not a team's; team and organisation filters do not apply.
    heat = [[0] * 24 for _ in range(7)]
    ooh = 0
    for weekday, hour, out_of_hours, calls in (
        _filtered(summaries.CallHourStat.objects.all(), scope, teams=False)
        .values_list("weekday", "local_hour", "out_of_hours")
        .annotate(n=Sum("calls"))
    ):
        heat[weekday - 1][hour] += calls
        ooh += calls if out_of_hours else 0
    total_calls = sum(map(sum, heat))
    tables.append(
        _table(
            "calls_heatmap",
            "Calls by weekday and hour",
            ["Weekday", *[f"{h:02d}:00" for h in range(24)], "Total"],
            [
                [WEEKDAYS[i], *[_count(v, scope) for v in heat[i]], _count(sum(heat[i]), scope)]
                for i in range(7)
            ],
            definition="calls-by-hour",
            chart="heatmap",
        )
    )
    tables.append(
        _table(
            "calls_by_hour",
            "Calls by hour of day",
            ["Hour", "Calls"],
            [[f"{h:02d}:00", _count(sum(heat[d][h] for d in range(7)), scope)] for h in range(24)],
            definition="calls-by-hour",
            chart="bar",
        )
    )
    by_caller: dict[str, int] = defaultdict(int)
    by_handler: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for caller_type, handler_id, calls, overrides in (
        _filtered(summaries.CallDayStat.objects.all(), scope, teams=False)
        .values_list("caller_type", "handled_by_id")
        .annotate(n=Sum("calls"), o=Sum("overrides"))
    ):
        by_caller[caller_type] += calls
        by_handler[handler_id][0] += calls
        by_handler[handler_id][1] += overrides
    tables.append(
        _table(
            "calls_by_caller_type",
            "Calls by caller type",
            ["Caller type", "Calls"],
            [
                [_label(CallerType, k), _count(v, scope)]
                for k, v in sorted(by_caller.items(), key=lambda kv: -kv[1])
            ],
            definition="calls-by-caller-type",
            chart="bar",
        )
    )
    handler_names = {
        u.pk: u.get_full_name() or u.get_username()
        for u in User.objects.filter(pk__in=list(by_handler)).only(
            "first_name", "last_name", "username"
        )
    }
    tables.append(
        _table(
            "overrides_by_handler",
            "Triage overrides by handler",
            ["Handler", "Calls", "Overrides", "Override rate %"],
            [
                [
                    handler_names.get(k, f"User {k}"),
                    _count(v[0], scope),
                    _count(v[1], scope),
                    _pct(v[1], v[0], scope),
                ]
                for k, v in sorted(
                    by_handler.items(), key=lambda kv: (-kv[1][1], handler_names.get(kv[0], ""))
                )
            ],
            definition="triage-overrides",
        )
    )
    tiles.append(
        {
            "key": "calls",
            "label": "Calls",
            "value": _count(total_calls, scope),
            "definition": "calls",
        }
    )
    tiles.append(
        {
            "key": "out_of_hours",
            "label": "Out-of-hours share %",
            "value": _pct(ooh, total_calls, scope),
            "definition": "out-of-hours",
        }
    )

    tables += telephony_tables(scope=scope, now=now, tiles=tiles)

    # Referrals by cohort (the day they were created).
    by_need: dict[str, int] = defaultdict(int)
    by_team: dict[int, int] = defaultdict(int)
    by_status: dict[str, int] = defaultdict(int)
    compliance: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    # Each need has its own priority and override (docs/triage.md): [triaged, overridden].
    overrides_by_need: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for team_id, priority, need, status, n, on_time, late, triaged, overridden in (
        _filtered(summaries.ReferralDayStat.objects.all(), scope)
        .values_list("team_id", "priority", "need", "status")
        .annotate(
            n=Sum("referrals"),
            t=Sum("contacted_on_time"),
            la=Sum("contacted_late"),
            tr=Sum("triaged"),
            o=Sum("overrides"),
        )
    ):
        by_need[need] += n
        if triaged:
            overrides_by_need[need][0] += triaged
            overrides_by_need[need][1] += overridden
        by_team[team_id] += n
        by_status[status] += n
        compliance[priority][0] += on_time
        compliance[priority][1] += late
    total_referrals = sum(by_need.values())
    tables.append(
        _table(
            "overrides_by_need",
            "Triage overrides by need",
            ["Need", "Referrals from calls", "Overrides", "Override rate %"],
            [
                [_label(Need, k), _count(v[0], scope), _count(v[1], scope), _pct(v[1], v[0], scope)]
                for k, v in sorted(
                    overrides_by_need.items(), key=lambda kv: (-kv[1][1], _label(Need, kv[0]))
                )
            ],
            definition="triage-overrides-by-need",
        )
    )
    tables.append(
        _table(
            "referrals_by_need",
            "Referrals by need",
            ["Need", "Referrals"],
            [
                [_label(Need, k), _count(v, scope)]
                for k, v in sorted(by_need.items(), key=lambda kv: -kv[1])
            ],
            definition="referrals",
            chart="bar",
        )
    )
    tables.append(
        _table(
            "referrals_by_team",
            "Referrals by team",
            ["Team", "Referrals"],
            [
                [team_names.get(k, f"Team {k}"), _count(v, scope)]
                for k, v in sorted(by_team.items(), key=lambda kv: -kv[1])
            ],
            definition="referrals",
            chart="bar",
        )
    )
    tables.append(
        _table(
            "referrals_by_status",
            "Referrals by current status",
            ["Status", "Referrals"],
            [
                [_label(ReferralStatus, k), _count(v, scope)]
                for k, v in sorted(by_status.items(), key=lambda kv: -kv[1])
            ],
            definition="referrals",
            chart="bar",
        )
    )
    tiles.append(
        {
            "key": "referrals",
            "label": "Referrals",
            "value": _count(total_referrals, scope),
            "definition": "referrals",
        }
    )

    # Now: open caseload, overdue and breaches, from the open referrals the job last saw.
    live = summaries.OpenReferral.objects.all()
    if scope.team_ids is not None:
        live = live.filter(team_id__in=scope.team_ids)
    if scope.priority:
        live = live.filter(priority=scope.priority)
    breached = Q(
        status__in=CLOCK_RUNNING_STATUSES, first_contact_at__isnull=True, contact_by__lt=now
    )
    # Grouped by the patients' equity groups too, for the overdue referrals of each group: the
    # open referrals are few, so the same query serves both.
    caseload_rows = list(
        live.values_list("team_id", "owner_id", "priority", *_EQUITY_COLUMNS).annotate(
            n=Count("id"),
            b=Count("id", filter=breached),
            overdue_cohort=Count(
                "id",
                filter=breached & Q(created_at__gte=scope.starts_at, created_at__lt=scope.ends_at),
            ),
        )
    )
    team_load: dict[int, int] = defaultdict(int)
    nurse_load: dict[tuple[int, int], int] = defaultdict(int)
    breaches: dict[tuple[int, str], int] = defaultdict(int)
    overdue: dict[str, int] = defaultdict(int)
    overdue_by_group: dict[tuple[str, str], int] = defaultdict(int)
    for team_id, owner_id, priority, *groups, n, b, overdue_cohort in caseload_rows:
        for dimension, group in zip(summaries.EquityDimension.values, groups, strict=True):
            overdue_by_group[(dimension, group)] += overdue_cohort
        team_load[team_id or 0] += n
        if owner_id is not None:
            nurse_load[(owner_id, team_id or 0)] += n
        if b:
            breaches[(team_id or 0, priority)] += b
        overdue[priority] += overdue_cohort
    nurse_names = {
        u.pk: u.get_full_name() or u.get_username()
        for u in User.objects.filter(pk__in=[k[0] for k in nurse_load]).only(
            "first_name", "last_name", "username"
        )
    }
    tables.append(
        _table(
            "caseload_by_team",
            "Open caseload per team (now)",
            ["Team", "Open referrals"],
            [
                [team_names.get(k, f"Team {k}"), _count(v, scope)]
                for k, v in sorted(team_load.items(), key=lambda kv: -kv[1])
            ],
            definition="open-caseload",
            chart="bar",
        )
    )
    tables.append(
        _table(
            "caseload_by_nurse",
            "Open caseload per nurse (now)",
            ["Nurse", "Team", "Open referrals"],
            [
                [nurse_names.get(k[0], f"User {k[0]}"), team_names.get(k[1], ""), _count(v, scope)]
                for k, v in sorted(nurse_load.items(), key=lambda kv: -kv[1])
            ],
            definition="open-caseload",
        )
    )
    tables.append(
        _table(
            "breaches_now",
            "Breaches now (first contact overdue)",
            ["Team", "Priority", "Referrals"],
            [
                [team_names.get(k[0], f"Team {k[0]}"), k[1], _count(v, scope)]
                for k, v in sorted(breaches.items())
            ],
            definition="breaches-now",
        )
    )
    tiles.append(
        {
            "key": "open_caseload",
            "label": "Open caseload (now)",
            "value": _count(sum(team_load.values()), scope),
            "definition": "open-caseload",
        }
    )
    tiles.append(
        {
            "key": "breaches_now",
            "label": "Breaches now",
            "value": _count(sum(breaches.values()), scope),
            "definition": "breaches-now",
        }
    )

    # Response times from the histogram blocks, and compliance per priority.
    histograms = response_histograms(scope=scope)
    response_rows = []
    for priority in [*Priority.values, "All"]:
        accept = histograms.get((summaries.ResponseMinuteStat.Metric.ACCEPT.value, priority), {})
        contact = histograms.get((summaries.ResponseMinuteStat.Metric.CONTACT.value, priority), {})
        if not accept and not contact and priority != "All":
            continue
        response_rows.append(
            [
                priority,
                _count(sum(accept.values()), scope),
                percentile(accept, 0.5),
                percentile(accept, 0.9),
                _count(sum(contact.values()), scope),
                percentile(contact, 0.5),
                percentile(contact, 0.9),
            ]
        )
    tables.append(
        _table(
            "response_times",
            "Time to accept and to first contact (minutes)",
            [
                "Priority",
                "Accepted",
                "Accept median",
                "Accept 90th",
                "Contacted",
                "Contact median",
                "Contact 90th",
            ],
            response_rows,
            definition="response-times",
        )
    )
    all_row = response_rows[-1]
    tiles.append(
        {
            "key": "accept_median",
            "label": "Time to accept, median (min)",
            "value": all_row[2],
            "definition": "response-times",
        }
    )
    tiles.append(
        {
            "key": "contact_median",
            "label": "Time to first contact, median (min)",
            "value": all_row[5],
            "definition": "response-times",
        }
    )
    tiles.append(
        {
            "key": "contact_p90",
            "label": "Time to first contact, 90th percentile (min)",
            "value": all_row[6],
            "definition": "response-times",
        }
    )
    compliance_rows = []
    met_all = due_all = 0
    for priority in Priority.values:
        on_time, late = compliance[priority]
        due = on_time + late + overdue[priority]
        if due == 0:
            continue
        met_all += on_time
        due_all += due
        compliance_rows.append(
            [
                priority,
                _count(on_time, scope),
                _count(late, scope),
                _count(overdue[priority], scope),
                _pct(on_time, due, scope),
            ]
        )
    tables.append(
        _table(
            "compliance",
            "Response compliance per priority",
            [
                "Priority",
                "Contacted on time",
                "Contacted late",
                "Overdue, not yet contacted",
                "Compliance %",
            ],
            compliance_rows,
            definition="compliance",
        )
    )
    tiles.append(
        {
            "key": "compliance",
            "label": "Response compliance %",
            "value": _pct(met_all, due_all, scope),
            "definition": "compliance",
        }
    )

    # Patients supported: distinct over the whole range.
    supported = patients_supported(scope=scope)
    tiles.append(
        {
            "key": "patients_supported",
            "label": "Patients supported",
            "value": _count(supported, scope),
            "definition": "patients-supported",
        }
    )

    # Interventions and savings.
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for kind, n, avoided, bed_days, primary_care in (
        _filtered(summaries.InterventionDayStat.objects.all(), scope)
        .values_list("kind")
        .annotate(
            n=Sum("interventions"),
            a=Sum("admissions_avoided"),
            b=Sum("bed_days_saved"),
            g=Sum("primary_care_avoided"),
        )
    ):
        by_kind[kind] = [n, avoided, bed_days, primary_care]
    tables.append(
        _table(
            "interventions_by_type",
            "Interventions by type",
            [
                "Type",
                "Interventions",
                "Admissions avoided",
                "Bed days saved",
                "Primary-care contacts avoided",
            ],
            [
                [
                    _label(InterventionType, k),
                    _count(v[0], scope),
                    _count(v[1], scope),
                    v[2],
                    _count(v[3], scope),
                ]
                for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1][0])
            ],
            definition="interventions",
            chart="bar",
        )
    )
    avoided = sum(v[1] for v in by_kind.values())
    bed_days = sum(v[2] for v in by_kind.values())
    cost = int(settings.BED_DAY_COST_GBP)
    tables.append(
        _table(
            "savings",
            "Admissions avoided and savings",
            ["Admissions avoided", "Bed days saved", "Cost per bed day (£)", "£ saved"],
            [[_count(avoided, scope), bed_days, cost, bed_days * cost]],
            definition="savings",
        )
    )
    tiles.append(
        {
            "key": "interventions",
            "label": "Interventions",
            "value": _count(sum(v[0] for v in by_kind.values()), scope),
            "definition": "interventions",
        }
    )
    tiles.append(
        {
            "key": "primary_care_avoided",
            "label": "Primary-care contacts avoided",
            "value": _count(sum(v[3] for v in by_kind.values()), scope),
            "definition": "primary-care-avoided",
        }
    )
    tiles.append(
        {
            "key": "pounds_saved",
            "label": f"£ saved (at £{cost} per bed day)",
            "value": bed_days * cost,
            "definition": "savings",
        }
    )

    # Deaths.
    deaths = {
        key: value or 0
        for key, value in _filtered(summaries.DeathBlockStat.objects.all(), scope, priority=False)
        .aggregate(
            deaths=Sum("deaths"),
            with_pref=Sum("preference_recorded"),
            first=Sum("first_preference_achieved"),
            achieved=Sum("preferred_place_achieved"),
            with_care=Sum("care_recorded"),
            care=Sum("preferred_care_achieved"),
            with_res=Sum("usual_residence_recorded"),
            at_res=Sum("died_in_usual_residence"),
            three_plus=Sum("three_plus_admissions"),
        )
        .items()
    }

    def indicator(label: str, numerator: str, denominator: str) -> list[Any]:
        return [
            label,
            _count(deaths[numerator], scope),
            _count(deaths[denominator], scope),
            _pct(deaths[numerator], deaths[denominator], scope),
        ]

    deaths["no_pref"] = deaths["deaths"] - deaths["with_pref"]
    tables.append(
        _table(
            "deaths",
            "Deaths",
            ["Indicator", "Deaths counted", "Out of", "%"],
            [
                indicator("Died in first preferred place (benchmark)", "first", "with_pref"),
                indicator("Died in first or second preferred place", "achieved", "with_pref"),
                indicator("No preferred place recorded", "no_pref", "deaths"),
                indicator("Cared for in preferred place in last days", "care", "with_care"),
                indicator("Died in usual place of residence", "at_res", "with_res"),
                indicator(
                    "3+ emergency admissions in last 90 days of life", "three_plus", "deaths"
                ),
            ],
            definition="deaths",
        )
    )
    tiles.append(
        {
            "key": "died_in_preferred_place",
            "label": "Died in first preferred place %",
            "value": _pct(deaths["first"], deaths["with_pref"], scope),
            "definition": "deaths",
        }
    )
    from spoc.dashboards.feedback import feedback_tables  # it builds on the helpers above

    tables += feedback_tables(scope=scope, team_names=team_names, tiles=tiles)

    tables += equity_tables(scope=scope, overdue=overdue_by_group)

    return {
        "period": {"from": scope.date_from.isoformat(), "to": scope.date_to.isoformat()},
        "filters": {
            "organisation": scope.organisation_id,
            "team": scope.team_id,
            "priority": scope.priority,
        },
        "suppressed": scope.suppress,
        "bed_day_cost_gbp": cost,
        "bed_day_cost_source": BED_DAY_COST_SOURCE,
        "tiles": tiles,
        "tables": tables,
    }


# OpenReferral's columns of the patient's group in each equity dimension, in EquityDimension's order.
_EQUITY_COLUMNS = ("ethnic_category", "diagnosis_group", "deprivation_decile")
# Each dimension's table: its key, its groups in the order shown with their labels.
_DECILES = [
    (str(n), f"{n}{' (most deprived)' if n == 1 else ' (least deprived)' if n == 10 else ''}")
    for n in range(1, 11)
]
EQUITY_GROUPS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    summaries.EquityDimension.ETHNIC_CATEGORY: ("equity_ethnic_category", EthnicCategory.choices),
    summaries.EquityDimension.DIAGNOSIS_GROUP: ("equity_diagnosis_group", DiagnosisGroup.choices),
    summaries.EquityDimension.DEPRIVATION_DECILE: (
        "equity_deprivation_decile",
        [*_DECILES, ("", "Not known")],
    ),
}
EQUITY_COLUMNS = [
    "Referrals",
    "Contacted on time",
    "Contacted late",
    "Overdue, not yet contacted",
    "Response compliance %",
    "Deaths",
    "Deaths with a preferred place",
    "Died in first preferred place",
    "Died in first preferred place %",
]


def equity_tables(
    *, scope: DashboardScope, overdue: dict[tuple[str, str], int]
) -> list[dict[str, Any]]:
    """Referrals, response compliance and deaths in the first preferred place by the patient's
    ethnic category, primary diagnosis group and area deprivation decile (docs/metrics.md
    "Equity"): one table per dimension, a row per group with any referral or death, every figure
    through ``_count`` and ``_pct`` like the rest of the page. ``overdue`` is the open referrals
    of the period past their due time, by (dimension, group). Two queries whatever the period."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 6)
    for dimension, group, n, on_time, late in (
        _filtered(summaries.EquityReferralStat.objects.all(), scope)
        .values_list("dimension", "grp")
        .annotate(n=Sum("referrals"), t=Sum("contacted_on_time"), la=Sum("contacted_late"))
    ):
        counts[(dimension, group)][:3] = [n, on_time, late]
    for dimension, group, deaths, with_pref, first in (
        _filtered(summaries.EquityDeathStat.objects.all(), scope, priority=False)
        .values_list("dimension", "grp")
        .annotate(d=Sum("deaths"), p=Sum("preference_recorded"), f=Sum("first_preference_achieved"))
    ):
        counts[(dimension, group)][3:] = [deaths, with_pref, first]
    tables = []
    for dimension, (key, groups) in EQUITY_GROUPS.items():
        rows = []
        for group, label in groups:
            n, on_time, late, deaths, with_pref, first = counts.get((dimension, group), [0] * 6)
            due = on_time + late + overdue.get((dimension, group), 0)
            if n == 0 and deaths == 0:
                continue
            rows.append(
                [
                    label,
                    *(_count(v, scope) for v in (n, on_time, late, due - on_time - late)),
                    _pct(on_time, due, scope),
                    *(_count(v, scope) for v in (deaths, with_pref, first)),
                    _pct(first, with_pref, scope),
                ]
            )
        tables.append(
            _table(
                key,
                f"Equity: by {summaries.EquityDimension(dimension).label.lower()}",
                [summaries.EquityDimension(dimension).label, *EQUITY_COLUMNS],
                rows,
                definition="equity",
            )
        )
    return tables


# Phone calls by hour and by weekday: offered, answered within the target, abandoned.
_PHONE_COUNTS = ("offered", "answered_in_target", "abandoned")


def _phone_row(label: str, counts: list[int], scope: DashboardScope) -> list[Any]:
    offered, in_target, abandoned = counts
    return [
        label,
        _count(offered, scope),
        _count(in_target, scope),
        _pct(in_target, offered, scope),
        _count(abandoned, scope),
        _pct(abandoned, offered, scope),
    ]


def telephony_tables(
    *, scope: DashboardScope, now: datetime, tiles: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The phone system's figures (docs/metrics.md "Phone calls offered" to "Call-backs on
    time"): the SPOC's lines belong to no team and a phone call has no priority, so no filter but
    the period applies. Adds their tiles to ``tiles``."""
    target = summaries.ANSWER_TARGET_SECONDS
    by_hour = [[0, 0, 0] for _ in range(24)]
    by_weekday = [[0, 0, 0] for _ in range(7)]
    outcomes = {"answered": 0, "missed": 0, "voicemail": 0}
    for weekday, hour, *counts in (
        _filtered(summaries.TelephonyHourStat.objects.all(), scope, teams=False, priority=False)
        .values_list("weekday", "local_hour")
        .annotate(*(Sum(name) for name in (*_PHONE_COUNTS, *outcomes)))
    ):
        for n, value in enumerate(counts[: len(_PHONE_COUNTS)]):
            by_hour[hour][n] += value
            by_weekday[weekday - 1][n] += value
        for name, value in zip(outcomes, counts[len(_PHONE_COUNTS) :], strict=True):
            outcomes[name] += value
    offered, in_target, abandoned = (sum(row[n] for row in by_hour) for n in range(3))
    waits: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for metric, bucket, n in (
        _filtered(summaries.TelephonyWaitStat.objects.all(), scope, teams=False, priority=False)
        .values_list("metric", "bucket")
        .annotate(n=Sum("calls"))
    ):
        waits[metric][bucket] += n
    call_backs = {
        key: value or 0
        for key, value in _filtered(
            summaries.CallBackDayStat.objects.all(), scope, teams=False, priority=False
        )
        .aggregate(on_time=Sum("done_on_time"), late=Sum("done_late"))
        .items()
    }
    overdue = summaries.OpenCallBack.objects.filter(
        due_at__gte=scope.starts_at, due_at__lt=min(scope.ends_at, now)
    ).count()
    call_backs_due = call_backs["on_time"] + call_backs["late"] + overdue
    columns = [
        "Offered",
        f"Answered within {target} s",
        f"Answered within {target} s %",
        "Abandoned",
        "Abandoned %",
    ]
    wait_rows = []
    for metric in summaries.TelephonyWaitStat.Metric:
        histogram = waits.get(metric.value, {})
        wait_rows.append(
            [
                metric.label,
                _count(sum(histogram.values()), scope),
                percentile(histogram, 0.5),
                percentile(histogram, 0.9),
            ]
        )
    tiles += [
        {
            "key": "phone_calls_offered",
            "label": "Phone calls offered",
            "value": _count(offered, scope),
            "definition": "phone-calls-offered",
        },
        {
            "key": "answered_in_target",
            "label": f"Answered within {target} s %",
            "value": _pct(in_target, offered, scope),
            "definition": "answered-in-target",
        },
        {
            "key": "abandoned",
            "label": "Abandoned %",
            "value": _pct(abandoned, offered, scope),
            "definition": "abandoned",
        },
        {
            "key": "call_backs_on_time",
            "label": "Call-backs on time %",
            "value": _pct(call_backs["on_time"], call_backs_due, scope),
            "definition": "call-backs-on-time",
        },
    ]
    return [
        _table(
            "phone_calls",
            "Phone calls offered, answered and abandoned",
            ["Phone calls", "Calls", "% of offered"],
            [
                ["Offered", _count(offered, scope), None],
                [
                    "Answered",
                    _count(outcomes["answered"], scope),
                    _pct(outcomes["answered"], offered, scope),
                ],
                [
                    f"Answered within {target} s",
                    _count(in_target, scope),
                    _pct(in_target, offered, scope),
                ],
                ["Abandoned", _count(abandoned, scope), _pct(abandoned, offered, scope)],
                [
                    "Missed",
                    _count(outcomes["missed"], scope),
                    _pct(outcomes["missed"], offered, scope),
                ],
                [
                    "Voicemail",
                    _count(outcomes["voicemail"], scope),
                    _pct(outcomes["voicemail"], offered, scope),
                ],
            ],
            definition="phone-calls-offered",
        ),
        _table(
            "phone_waits",
            "Wait to answer and to abandonment (seconds)",
            ["Wait", "Calls", "Median (s)", "90th percentile (s)"],
            wait_rows,
            definition="phone-waits",
        ),
        _table(
            "phone_calls_by_hour",
            "Phone calls by hour of day",
            ["Hour", *columns],
            [_phone_row(f"{h:02d}:00", by_hour[h], scope) for h in range(24)],
            definition="phone-calls-by-hour",
            chart="bar",
        ),
        _table(
            "phone_calls_by_weekday",
            "Phone calls by weekday",
            ["Weekday", *columns],
            [_phone_row(WEEKDAYS[d], by_weekday[d], scope) for d in range(7)],
            definition="phone-calls-by-hour",
            chart="bar",
        ),
        _table(
            "call_backs",
            "Call-backs on time",
            ["Call-backs", "Due", "Done on time", "Done late", "Overdue, not done", "On time %"],
            [
                [
                    "Due in the period",
                    _count(call_backs_due, scope),
                    _count(call_backs["on_time"], scope),
                    _count(call_backs["late"], scope),
                    _count(overdue, scope),
                    _pct(call_backs["on_time"], call_backs_due, scope),
                ]
            ],
            definition="call-backs-on-time",
        ),
    ]


def response_histograms(*, scope: DashboardScope) -> dict[tuple[str, str], dict[int, int]]:
    """Referrals per response-time bucket (spoc/dashboards/blocks.py), by (metric, priority) and
    (metric, "All"), over the scope: one query over the few blocks that make up the period. The
    view without a team filter reads the rows of every team together."""
    rows = _filtered(summaries.ResponseBlockStat.objects.all(), scope)
    if scope.team_ids is None:
        rows = rows.filter(team_id=ALL_TEAMS)
    histograms: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for metric, priority, bucket, n in rows.values_list("metric", "priority", "bucket").annotate(
        n=Sum("referrals")
    ):
        histograms[(metric, priority)][bucket] += n
        histograms[(metric, "All")][bucket] += n
    return histograms


def _first_day_group(scope: DashboardScope) -> str | None:
    """The PatientFirstDay group answering this scope; None when no group does (a team lead with
    several teams and no team chosen)."""
    suffix = f":{scope.priority}" if scope.priority else ""
    if scope.team_ids is None:
        return f"P:{scope.priority}" if scope.priority else "A"
    if scope.team_id is not None or len(scope.team_ids) == 1:
        team = scope.team_id if scope.team_id is not None else scope.team_ids[0]
        return f"TP:{team}{suffix}" if scope.priority else f"T:{team}"
    if scope.organisation_id is not None:
        return (
            f"OP:{scope.organisation_id}{suffix}"
            if scope.priority
            else f"O:{scope.organisation_id}"
        )
    return None


# The first-day table's "no previous day".
_NO_PREVIOUS_DAY = date(1, 1, 1)


def patients_supported(*, scope: DashboardScope) -> int:
    """Distinct patients with a call or referral in the scope (docs/metrics.md), exact.

    One sum over the first-day rows of the scope's group (a few thousand rows for a year);
    without a group, a distinct count over the patient-day rows of the scope's teams."""
    group = _first_day_group(scope)
    if group is not None:
        total = summaries.PatientFirstDay.objects.filter(
            grp=group,
            local_date__gte=scope.date_from,
            local_date__lte=scope.date_to,
            prev_date__lt=scope.date_from,
        ).aggregate(n=Sum("patients"))["n"]
        return int(total or 0)
    rows = _filtered(summaries.PatientDay.objects.all(), scope).exclude(team_id=0)
    return int(rows.aggregate(n=Count("patient_id", distinct=True))["n"])


def dashboard_table(*, figures: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((t for t in figures["tables"] if t["key"] == key), None)


def dashboard_table_export(
    *, scope: DashboardScope, now: datetime, key: str
) -> dict[str, Any] | None:
    """One of the dashboard's tables for download, the export access-logged with its row count
    and dates; None when there is no such table."""
    table = dashboard_table(figures=dashboard_figures(scope=scope, now=now), key=key)
    if table is not None:
        access_log_read(
            action=AccessLog.Action.EXPORT,
            object_type="dashboard",
            object_id=key,
            detail={
                "rows": len(table["rows"]),
                "from": scope.date_from.isoformat(),
                "to": scope.date_to.isoformat(),
            },
        )
    return table


def breached_referrals_for_drilldown(
    *, scope: DashboardScope, now: datetime, limit: int = 200
) -> list[Referral]:
    """Patient-level rows behind "breaches now", only for the user's own organisation's teams:
    every referral shown is a read of a patient's record, access-logged one by one."""
    teams: Iterable[int] = scope.own_team_ids
    if scope.team_ids is not None:
        teams = [t for t in scope.team_ids if t in scope.own_team_ids]
    qs = (
        Referral.objects.filter(
            team_id__in=list(teams),
            status__in=CLOCK_RUNNING_STATUSES,
            first_contact_at__isnull=True,
            contact_by__lt=now,
        )
        .select_related("patient", "team")
        .order_by("contact_by", "id")
    )
    if scope.priority:
        qs = qs.filter(priority=scope.priority)
    rows = list(qs[:limit])
    for referral in rows:
        access_log_read(
            object_type="referral",
            object_id=referral.pk,
            patient_id=referral.patient_id,
            reason="dashboard drill-down",
        )
    return rows
