"""The feedback figures (docs/metrics.md, "Friends and Family Test", "Bereaved relatives'
survey", "Feedback comments"): read straight from the answers (experience/models.py), at most
one per completed referral or death, in one grouped query each, whatever their number.

Answers count by the day they arrived (London) and by the team of the referral they follow; the
team and organisation filters apply, the priority filter does not (an answer is about the
service, not one priority). Counts and percentages go through the dashboard's small-number
suppression. The comments people wrote are shown only to a manager, for the teams of their own
organisation: never to a team's nurses or leads, never across organisations; each showing is
written to the access log."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count, QuerySet

from experience.codes import FFT_NEGATIVE, FFT_POSITIVE, DiedWhereWanted, FamilySupport, FftAnswer
from experience.forms import BereavedSurveyForm
from experience.models import Answer, Invitation
from spoc.audit.services import access_log_read
from spoc.core.dates import nhs_datetime_short
from spoc.dashboards.selectors import DashboardScope, _count, _pct, _table

FFT_COLUMNS = ["Team", "Answers", "Positive", "Positive %", "Negative", "Negative %"]


def _answers(scope: DashboardScope, *, teams: tuple[int, ...] | None) -> QuerySet[Answer]:
    rows = Answer.objects.filter(received_at__gte=scope.starts_at, received_at__lt=scope.ends_at)
    return rows if teams is None else rows.filter(team_id__in=teams)


def _fft_row(label: str, counts: dict[str, int], scope: DashboardScope) -> list[Any]:
    total = sum(counts.values())
    positive = sum(counts.get(code, 0) for code in FFT_POSITIVE)
    negative = sum(counts.get(code, 0) for code in FFT_NEGATIVE)
    return [
        label,
        _count(total, scope),
        _count(positive, scope),
        _pct(positive, total, scope),
        _count(negative, scope),
        _pct(negative, total, scope),
    ]


def feedback_tables(
    *, scope: DashboardScope, team_names: dict[int, str], tiles: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The Friends and Family Test per team and per answer, the bereaved relatives' survey per
    question, and for a manager of the teams the comments; adds their tiles to ``tiles``. Two
    queries, three with the comments."""
    answers = _answers(scope, teams=scope.team_ids)
    by_team: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    every: dict[str, int] = defaultdict(int)
    for team_id, rating, n in (
        answers.filter(kind=Invitation.Kind.FFT)
        .values_list("team_id", "rating")
        .annotate(n=Count("id"))
        .order_by()
    ):
        by_team[team_id or 0][rating] += n
        every[rating] += n
    survey: dict[str, dict[str, int]] = {
        name: defaultdict(int) for name in ("rating", "died_where_wanted", "family_support")
    }
    for rating, place, support, n in (
        answers.filter(kind=Invitation.Kind.BEREAVED)
        .values_list("rating", "died_where_wanted", "family_support")
        .annotate(n=Count("id"))
        .order_by()
    ):
        survey["rating"][rating] += n
        survey["died_where_wanted"][place] += n
        survey["family_support"][support] += n
    total = sum(every.values())
    positive = sum(every.get(code, 0) for code in FFT_POSITIVE)
    surveys = sum(survey["rating"].values())
    tiles += [
        {
            "key": "fft_positive",
            "label": "Friends and Family Test positive %",
            "value": _pct(positive, total, scope),
            "definition": "friends-and-family-test",
        },
        {
            "key": "feedback_answers",
            "label": "Feedback answers (test and survey)",
            "value": _count(total + surveys, scope),
            "definition": "friends-and-family-test",
        },
    ]
    questions = BereavedSurveyForm.base_fields
    survey_rows: list[list[Any]] = []
    for name, choices in (
        ("rating", FftAnswer),
        ("died_where_wanted", DiedWhereWanted),
        ("family_support", FamilySupport),
    ):
        counts = survey[name]
        answered = sum(n for code, n in counts.items() if code)
        for code, label in [*choices.choices, ("", "Not answered")]:
            survey_rows.append(
                [
                    str(questions[name].label),
                    label,
                    _count(counts.get(code, 0), scope),
                    _pct(counts.get(code, 0), answered, scope) if code else None,
                ]
            )
    tables = [
        _table(
            "fft_by_team",
            "Friends and Family Test by team",
            FFT_COLUMNS,
            [
                *(
                    _fft_row(team_names.get(team_id, f"Team {team_id}"), counts, scope)
                    for team_id, counts in sorted(
                        by_team.items(), key=lambda kv: team_names.get(kv[0], "")
                    )
                ),
                _fft_row("All teams", every, scope),
            ],
            definition="friends-and-family-test",
        ),
        _table(
            "fft_answers",
            "Friends and Family Test answers",
            ["Answer", "Answers", "%"],
            [
                [label, _count(every.get(code, 0), scope), _pct(every.get(code, 0), total, scope)]
                for code, label in FftAnswer.choices
            ],
            definition="friends-and-family-test",
            chart="bar",
        ),
        _table(
            "bereaved_survey",
            "Bereaved relatives' survey",
            ["Question", "Answer", "Answers", "% of those who answered it"],
            survey_rows,
            definition="bereaved-relatives-survey",
        ),
    ]
    if scope.comment_team_ids:
        tables.append(_comments(scope, team_names))
    return tables


def _comments(scope: DashboardScope, team_names: dict[int, str]) -> dict[str, Any]:
    rows = [
        [
            nhs_datetime_short(received_at),
            team_names.get(team_id or 0, "No team"),
            Invitation.Kind(kind).label,
            FftAnswer(rating).label,
            why,
        ]
        for received_at, team_id, kind, rating, why in _answers(scope, teams=scope.comment_team_ids)
        .exclude(why="")
        .order_by("-received_at", "-id")
        .values_list("received_at", "team_id", "kind", "rating", "why")
    ]
    access_log_read(
        object_type="feedback_comments",
        detail={
            "rows": len(rows),
            "teams": list(scope.comment_team_ids),
            "from": scope.date_from.isoformat(),
            "to": scope.date_to.isoformat(),
        },
    )
    return _table(
        "feedback_comments",
        "What people wrote (managers of the team only)",
        ["Received", "Team", "Form", "Answer", "Comment"],
        rows,
        definition="feedback-comments",
    )
