"""Bereavement risk screens (docs/triage.md, "Bereavement risk screen"): saving a screen with a
bereavement referral, and what it does to the referral.

A screen answered when the death is recorded is saved with the new referrals
(``bereavement_screens_save``, in the death's transaction) and gives them their priority before
they are routed; routing reads it (``referrals.services.routing.referral_service_types``). A
screen answered later from the referral's page or the API (``referral_bereavement_screen``)
replaces the current one, keeps it in its event, and moves the referral: a new priority when the
result changes it (``priority_change``), and, for a referral nobody has claimed yet whose service
types change, back to the ranker (``routing_again``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patients.names import display_name
from referrals.actions import ActionNotPermitted, ActorContext, standing
from referrals.bereavement import (
    Question,
    component_label,
    screen_component,
    screen_is_blank,
    screen_priority,
    screen_problems,
)
from referrals.models import BereavementScreen, Referral, ReferralEvent
from referrals.selectors import referrals_visible_to
from referrals.services.acting import referral_event_record
from referrals.services.lifecycle import priority_change, routing_again
from referrals.transitions import OPEN_STATUSES, ReferralStatus
from services.codes import Need, ServiceType, service_types_for
from spoc.accounts.roles import WRITE_CLINICAL
from spoc.core.api import DomainConflict

NOT_PERMITTED = (
    "Only the clinicians of the referral's team and SPOC coordinators answer its bereavement "
    "risk screen."
)


class NotBereavementReferral(DomainConflict):
    """Only an open bereavement support referral has a risk screen (a 409 in the API)."""

    code = "not_bereavement_referral"


def bereavement_screens_check(
    screens: Any, *, people_ids: list[int]
) -> tuple[dict[int, dict[str, str]], list[str]]:
    """The complete screens among ``screens`` (person id -> answers by question) and the problems
    with the rest. A screen with nothing answered is left out (the person is not screened); one
    for a person not offered support, or half answered, is a problem. Saves nothing."""
    if screens in (None, {}):
        return {}, []
    if not isinstance(screens, Mapping):
        return {}, ["Give each person's risk screen under their id."]
    found: dict[int, dict[str, str]] = {}
    problems: list[str] = []
    for key, answers in screens.items():
        try:
            person_id = int(key)
        except (TypeError, ValueError):
            problems.append(f"{key!s:.40} is not a person's id.")
            continue
        if (
            isinstance(answers, Mapping)
            and screen_is_blank(answers)
            and not (answers.keys() - set(Question.values))
        ):
            continue
        if person_id not in people_ids:
            problems.append(
                "A risk screen is answered only for a person offered bereavement support."
            )
            continue
        person_problems = screen_problems(answers)
        if person_problems:
            problems.extend(person_problems)
            continue
        found[person_id] = {question: answers[question] for question in Question.values}
    # A person who already has an open bereavement referral is not given a second one: their
    # screen belongs on that referral, and is refused here rather than dropped.
    for person in (
        Referral.objects.filter(
            for_person_id__in=list(found),
            need=Need.BEREAVEMENT_SUPPORT,
            status__in=OPEN_STATUSES,
        )
        .select_related("for_person")
        .order_by("for_person_id")
        .distinct("for_person_id")
    ):
        assert person.for_person is not None
        name = display_name(person.for_person.given_name, person.for_person.family_name)
        problems.append(
            f"{name} already has an open bereavement support referral: answer their risk screen "
            f"on that referral's page, and clear it here."
        )
    return found, list(dict.fromkeys(problems))


def bereavement_screens_save(
    referrals: list[Referral], *, screens: Mapping[int, Mapping[str, str]], user: Any, now: datetime
) -> None:
    """Save the screen of each new bereavement referral whose person has one (``screens`` by
    person id, complete), with its event. Inside the caller's transaction (recording a death),
    before routing is enqueued; the referrals were made at the priority of their screen
    (``screen_priority``)."""
    rows = []
    events = []
    for referral in referrals:
        answers = screens.get(referral.for_person_id or 0)
        if answers is None:
            continue
        component = screen_component(answers)
        rows.append(
            BereavementScreen(
                referral=referral,
                answers=dict(answers),
                component=component,
                answered_by=user,
                answered_at=now,
            )
        )
        events.append(
            ReferralEvent(
                referral=referral,
                kind=ReferralEvent.Kind.BEREAVEMENT_SCREENED,
                at=now,
                actor=user,
                from_status=referral.status,
                to_status=referral.status,
                data={"answers": dict(answers), "component": component, "previous": None},
            )
        )
    BereavementScreen.objects.bulk_create(rows)
    ReferralEvent.objects.bulk_create(events)
    for row in rows:
        row.referral.bereavement_screen = row


def may_screen_bereavement(*, user: Any, referral: Referral) -> bool:
    """The clinicians of the referral's team who work its queue, and SPOC coordinators, when they
    write clinical records; no query when the referral comes with ``team__service``."""
    if not getattr(user, "is_authenticated", False):
        return False
    actor = ActorContext.of(user)
    if WRITE_CLINICAL not in actor.perms:
        return False
    spoc_team = referral.team is not None and referral.team.service.service_type == ServiceType.SPOC
    who = standing(actor, referral, spoc_team=spoc_team)
    return who.coordinates or (who.works_queue and bool(getattr(user, "is_clinician", False)))


def referral_bereavement_screen(
    *, referral_id: int, user: Any, answers: Mapping[str, Any]
) -> Referral:
    """Answer the bereavement risk screen of referral ``referral_id`` (complete answers, one for
    every question), replacing its current screen (kept in the new event's ``previous``).

    The screen's priority (``screen_priority``) is given to the referral when its priority is
    still the one the earlier screen (or none) gave it: a priority changed by hand is kept. A
    referral not yet claimed (``QUEUED``) whose service types change with the result is sent back
    to the ranker. Returns the referral.

    Raises ``ValidationError`` on ``answers`` having saved nothing, ``Referral.DoesNotExist``
    when the user may not see it, ``NotBereavementReferral`` for another need or a closed
    referral, and ``ActionNotPermitted`` when the user may not answer it.
    """
    problems = screen_problems(answers)
    if problems:
        raise ValidationError({"answers": problems})
    answers = {question: str(answers[question]) for question in Question.values}
    component = screen_component(answers)
    with transaction.atomic():
        referral = (
            referrals_visible_to(user)
            .select_for_update(of=("self",))
            .select_related("team__service", "bereavement_screen")
            .get(pk=referral_id)
        )
        if referral.need != Need.BEREAVEMENT_SUPPORT:
            raise NotBereavementReferral("Only a bereavement support referral has a risk screen.")
        if referral.status not in OPEN_STATUSES:
            raise NotBereavementReferral(
                "This referral is closed: its bereavement risk screen can no longer change."
            )
        if not may_screen_bereavement(user=user, referral=referral):
            raise ActionNotPermitted(NOT_PERMITTED)
        now = timezone.now()
        screen: BereavementScreen | None = getattr(referral, "bereavement_screen", None)
        previous_component = screen.component if screen is not None else None
        previous = (
            {
                "answers": screen.answers,
                "component": screen.component,
                "answered_by_id": screen.answered_by_id,
                "answered_at": screen.answered_at.isoformat(),
            }
            if screen is not None
            else None
        )
        if screen is None:
            screen = BereavementScreen(referral=referral)
        screen.answers = answers
        screen.component = component
        screen.answered_by = user
        screen.answered_at = now
        screen.full_clean(exclude=["referral"])
        screen.save()
        referral.bereavement_screen = screen
        before = referral.status
        referral_event_record(
            referral,
            kind=ReferralEvent.Kind.BEREAVEMENT_SCREENED,
            user=user,
            at=now,
            from_status=before,
            data={"answers": answers, "component": component, "previous": previous},
        )
        why = f"Bereavement risk screen: {component_label(component).lower()}."
        priority = screen_priority(component)
        if priority != referral.priority and referral.priority == screen_priority(
            previous_component
        ):
            priority_change(referral, before=before, user=user, priority=priority, reason=why)
        types_changed = service_types_for(
            referral.need, bereavement_component=component
        ) != service_types_for(referral.need, bereavement_component=previous_component)
        if types_changed and referral.status == ReferralStatus.QUEUED:
            routing_again(referral, before=referral.status, user=user, reason=why)
    return referral
