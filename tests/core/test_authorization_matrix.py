"""The authorization matrix: every URL pattern and operation of the hub x anonymous and each role
-> the status it must answer (docs/security.md, "The authorization matrix").

The rows hold the TARGET rules. Each cell is a test of its own
(``test_cell[<url name> <method> [<variant>] | <column>]``). A new URL pattern without a row fails
``test_every_url_pattern_has_a_row``, naming it.

Columns (tests/core/authz.py): anon; handler (call handler); nurse (specialist nurse of team A, the
referral's team); nurse_b (specialist nurse of team B only); lead (team lead of team A); coord
(SPOC coordinator, member of the coordinators' own team, not of team A); manager (of team A's
organisation); diradmin; auditor; sysadmin (staff).

Objects (authz.World): ``patient`` has a queued referral (``referral``) and a claimed one
(``claimed``, owned by the nurse) with team A, a carer (``person``), a call taken by the handler
awaiting a senior review (``call``) and a pending call-back; ``patient_b`` is referred to team B
only; ``dead_patient`` (team A) has a recorded death.

Page POSTs send valid data where that is short, so an allowed cell shows the success redirect;
otherwise an empty form, so an allowed cell re-renders the form with its errors (200; 400 in the
API). A cell that refuses a request (401, 403, 404, 405, a redirect to sign in) must also leave
every table but the session, the access log and axes' records unwritten.

Comments marked "today:" name cells where the code on main answered otherwise when the row was
written; the row keeps the target.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from patients.carers import CarerOutcome
from tests.core.authz import (
    ADMIN_LOGIN,
    ANON,
    COLUMNS,
    PASSWORD,
    OneOf,
    Op,
    Pattern,
    World,
    api,
    client_for,
    describe_response,
    page,
    rows_written,
    to,
    url_patterns,
    world_build,
)

P = {"patient_id": "patient"}


def _empty(w: World) -> dict[str, Any]:
    return {}


REASON = "Telephoned by the out-of-hours GP about a deteriorating patient"


def _death_form(w: World) -> dict[str, Any]:
    died = timezone.localtime(
        timezone.now() - timedelta(hours=1)
    )  # a real London time, even across a clock change
    return {
        "died_date": died.strftime("%Y-%m-%d"),
        "died_time": died.strftime("%H:%M"),
        "place": "21",
        "expected": "yes",
        "verified_by": "Dr Test",
    }


def _death_json(w: World) -> dict[str, Any]:
    return {
        "died_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "place": "21",
        "expected": True,
    }


CARER = {"patient_id": "patient", "person_id": "person"}


def _carer_assessment_form(w: World) -> dict[str, Any]:
    return {
        "assessment_date": timezone.localdate().isoformat(),
        "health": "AT_RISK",
        "significant_impact": "yes",
        **{f"outcome_{code.lower()}": "ACHIEVED" for code in CarerOutcome.values},
    }


def _admission_form(w: World) -> dict[str, Any]:
    return {
        "admitted_on": (timezone.localdate() - timedelta(days=2)).isoformat(),
        "kind": "emergency",
    }


def _closure_form(w: World) -> dict[str, Any]:
    start = timezone.localtime(timezone.now() + timedelta(days=10))
    return {
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "Staff training",
    }


# Patient object pages: handlers and coordinators see everyone; the nurse and the lead see team A's
# patients; the manager sees patients referred to their organisation; nobody else (404: outside
# their scope, existence not revealed).
SEES_PATIENT = {"handler": 200, "nurse": 200, "lead": 200, "coord": 200, "manager": 200}
# Demographic writes (details, carers): handlers, coordinators and clinicians of the patient's
# team; a role that never writes is refused as such (403), the manager included; nurse_b may
# write but the patient is outside her care (404).
BACK_TO_MEDICINES = page(
    403,
    nurse_b=404,
    **{c: to("patients:medicines", patient_id="patient") for c in ("nurse", "lead", "coord")},
)
EDITS_PATIENT = page(403, handler=200, nurse=200, lead=200, coord=200, nurse_b=404)
ADMIN_ONLY = page(ADMIN_LOGIN, anon=ADMIN_LOGIN, sysadmin=200)
# Team A's rota is read by those who phone or plan any team (handler, coord, manager) and by team
# A's own nurse and lead.
READS_ROTA = {"handler": 200, "nurse": 200, "lead": 200, "coord": 200, "manager": 200}
TEAM_A = {"team_id": "team_a"}
PATTERN = {"pattern_id": "shift_pattern"}

ROWS: list[Op] = [
    # --- Public, and the signed-in user's own account ---------------------------------------------
    Op("home", "GET", page(200)),
    # 200 or 503 by the health of the database, broker and worker; never a sign-in (a load balancer
    # calls it). What it tells a stranger is tests/core/test_health.py's.
    Op("healthz", "GET", page(OneOf((200, 503)), anon=OneOf((200, 503)))),
    Op("healthz-live", "GET", page(200, anon=200)),
    Op("login", "GET", page(to("home"), anon=200)),
    # A wrong password re-renders the form; a signed-in user is sent home (redirect_authenticated_user).
    Op(
        "login",
        "POST",
        page(to("home"), anon=200),
        data=lambda w: {"username": "matrix-nurse", "password": "not-the-password"},
    ),
    Op("logout", "GET", page(405, anon=405)),  # sign-out is a POST only (Django's LogoutView)
    Op("logout", "POST", page(to("login"), anon=to("login"))),
    Op("password_change", "GET", page(200)),
    Op(
        "password_change",
        "POST",
        page(200),
        data=lambda w: {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
    ),
    Op("password_change_done", "GET", page(200)),
    Op("mfa-enrol", "GET", page(200)),
    # "Start set-up" creates the user's own pending authenticator.
    Op("mfa-enrol", "POST", page(to("mfa-enrol")), data=lambda w: {"start": "1"}),
    Op("mfa-verify", "GET", page(200)),
    Op("mfa-verify", "POST", page(200), data=lambda w: {"token": "000000"}),
    # A system admin resets another user's lost authenticator, with a reason (today: anonymous
    # gets 403, not the sign-in page: the view has permission_required without login_required).
    Op("mfa-reset", "GET", page(403, sysadmin=200), args={"user_id": "nurse_user"}),
    Op(
        "mfa-reset",
        "POST",
        page(403, sysadmin=to("mfa-reset", user_id="nurse_user")),
        args={"user_id": "nurse_user"},
        data=lambda w: {"reason": "Lost phone, identity checked by telephone call-back"},
    ),
    Op("keepalive", "GET", page(405, anon=405)),
    # A JSON endpoint called by the page's idle-timeout dialog: 401 rather than a redirect.
    Op("keepalive", "POST", page(200, anon=401)),
    # --- Audit ---------------------------------------------------------------------------------------
    Op("audit:access-log", "GET", page(403, auditor=200)),
    # --- Directory: everyone signed in searches it; directory admins edit it; a lead of the
    # service's team reports its capacity ---------------------------------------------------------
    Op("services:search", "GET", page(200)),
    Op("services:list", "GET", page(200)),
    Op("services:service", "GET", page(200), args={"service_id": "service_a"}),
    Op("services:edit", "GET", page(403, diradmin=200), args={"service_id": "service_a"}),
    Op(
        "services:edit",
        "POST",
        page(403, diradmin=200),
        args={"service_id": "service_a"},
        data=_empty,
    ),
    Op("services:closure-add", "GET", page(403, diradmin=405), args={"service_id": "service_a"}),
    Op(
        "services:closure-add",
        "POST",
        page(403, diradmin=to("services:edit", service_id="service_a")),
        args={"service_id": "service_a"},
        data=_closure_form,
    ),
    Op(
        "services:closure-remove",
        "GET",
        page(403, diradmin=405),
        args={"service_id": "service_a", "closure_id": "closure"},
    ),
    Op(
        "services:closure-remove",
        "POST",
        page(403, diradmin=to("services:edit", service_id="service_a")),
        args={"service_id": "service_a", "closure_id": "closure"},
        data=_empty,
    ),
    Op("services:capacity", "GET", page(405), args={"service_id": "service_a"}),
    Op(
        "services:capacity",
        "POST",
        page(403, lead=to("services:service", service_id="service_a")),
        args={"service_id": "service_a"},
        data=lambda w: {"rag": "AMBER", "units": "2"},
    ),
    # --- The duty rota: call handlers, coordinators and managers read every team's; nurses and
    # leads their own teams'; a team's leads and the coordinators change it ------------------------
    Op("rota:index", "GET", page(403, **READS_ROTA, nurse_b=200)),
    Op("rota:team", "GET", page(403, **READS_ROTA), args=TEAM_A),
    *(
        Op(name, method, page(403, lead=200, coord=200), args=TEAM_A, data=_empty)
        for name in ("rota:pattern-add", "rota:extra-add", "rota:import")
        for method in ("GET", "POST")
    ),
    Op("rota:pattern-edit", "GET", page(403, lead=200, coord=200), args=PATTERN),
    Op("rota:pattern-edit", "POST", page(403, lead=200, coord=200), args=PATTERN, data=_empty),
    Op("rota:pattern-end", "GET", page(405), args=PATTERN),
    Op(
        "rota:pattern-end",
        "POST",
        page(403, lead=to("rota:team", team_id="team_a"), coord=to("rota:team", team_id="team_a")),
        args=PATTERN,
        data=lambda w: {"last_date": w.rota_day},
    ),
    Op(
        "rota:cancel",
        "GET",
        page(403, lead=200, coord=200),
        args=PATTERN,
        query="date={w.rota_day}",
    ),
    Op(
        "rota:cancel",
        "POST",
        page(403, lead=to("rota:team", team_id="team_a"), coord=to("rota:team", team_id="team_a")),
        args=PATTERN,
        query="date={w.rota_day}",
        data=lambda w: {"reason": "Annual leave"},
    ),
    Op("rota:change-remove", "GET", page(405), args={"change_id": "shift_change"}),
    Op(
        "rota:change-remove",
        "POST",
        page(403, lead=to("rota:team", team_id="team_a"), coord=to("rota:team", team_id="team_a")),
        args={"change_id": "shift_change"},
        data=_empty,
    ),
    # --- Patients ------------------------------------------------------------------------------------
    # The search runs over patients_visible_to: empty for roles without patients (safe today).
    Op("patients:search", "GET", page(200), query="q={w.family_name}"),
    Op("patients:register", "GET", page(403, handler=200, coord=200)),
    Op("patients:register", "POST", page(403, handler=200, coord=200), data=_empty),
    # A clinician outside the team is offered break-glass; roles that may not break glass get 404,
    # as for a patient who does not exist (today: they are sent to the break-glass page, which
    # refuses them with 403, so the redirect tells them the patient exists).
    Op(
        "patients:detail",
        "GET",
        page(404, **SEES_PATIENT, nurse_b=to("patients:break-glass", patient_id="patient")),
        args=P,
    ),
    Op(
        "patients:detail",
        "GET",
        page(
            404,
            handler=200,
            coord=200,
            nurse_b=200,
            nurse=to("patients:break-glass", patient_id="patient_b"),
            lead=to("patients:break-glass", patient_id="patient_b"),
        ),
        args={"patient_id": "patient_b"},
        variant="team B's patient",
    ),  # today: the manager too
    # Break-glass is for direct-care roles (spoc.accounts.roles.may_break_glass); those who already
    # see the patient are sent to the record.
    Op(
        "patients:break-glass",
        "GET",
        page(
            403,
            nurse_b=200,
            **{c: to("patients:detail", patient_id="patient") for c in SEES_PATIENT},
        ),
        args=P,
    ),
    Op(
        "patients:break-glass",
        "POST",
        page(
            403,
            **{c: to("patients:detail", patient_id="patient") for c in (*SEES_PATIENT, "nurse_b")},
        ),
        args=P,
        data=lambda w: {"reason": REASON},
    ),
    # The manager may not break glass either.
    Op(
        "patients:break-glass",
        "POST",
        page(
            403,
            **{
                c: to("patients:detail", patient_id="patient_b")
                for c in ("handler", "coord", "nurse", "nurse_b", "lead")
            },
        ),
        args={"patient_id": "patient_b"},
        data=lambda w: {"reason": REASON},
        variant="team B's patient",
    ),
    Op("patients:edit", "GET", EDITS_PATIENT, args=P),
    Op("patients:edit", "POST", EDITS_PATIENT, args=P, data=_empty),
    Op("patients:person-add", "GET", EDITS_PATIENT, args=P),
    Op("patients:person-add", "POST", EDITS_PATIENT, args=P, data=_empty),
    Op("patients:person-edit", "GET", EDITS_PATIENT, args={**P, "person_id": "person"}),
    Op(
        "patients:person-edit",
        "POST",
        EDITS_PATIENT,
        args={**P, "person_id": "person"},
        data=_empty,
    ),
    # A carer's assessments are read by whoever sees the patient (nurse_b is offered break-glass)
    # and recorded by the clinicians who write clinical records, as the care plan.
    Op(
        "patients:carer-assessments",
        "GET",
        page(404, **SEES_PATIENT, nurse_b=to("patients:break-glass", patient_id="patient")),
        args=CARER,
    ),
    Op(
        "patients:carer-assessment-new",
        "GET",
        page(403, nurse=200, lead=200, coord=200, nurse_b=404),
        args=CARER,
    ),
    Op(
        "patients:carer-assessment-new",
        "POST",
        page(
            403,
            nurse_b=404,
            **{
                c: to("patients:carer-assessments", patient_id="patient", person_id="person")
                for c in ("nurse", "lead", "coord")
            },
        ),
        args=CARER,
        data=_carer_assessment_form,
    ),
    # The care plan is for clinicians who write clinical records (the coordinator here is one): not
    # the handler, not the manager.
    Op("patients:care-plan", "GET", page(403, nurse=200, lead=200, coord=200, nurse_b=404), args=P),
    Op(
        "patients:care-plan",
        "POST",
        page(
            403,
            nurse_b=404,
            **{c: to("patients:detail", patient_id="patient") for c in ("nurse", "lead", "coord")},
        ),
        args=P,
        data=lambda w: {"base_version": "0", "primary_diagnosis": "Lung cancer"},
    ),
    # Just-in-case medicines: clinicians who write clinical records, as the care plan; a removal
    # (and a GET of its address) ends on the medicines page.
    Op("patients:medicines", "GET", page(403, nurse=200, lead=200, coord=200, nurse_b=404), args=P),
    Op(
        "patients:medicines",
        "POST",
        page(403, nurse=200, lead=200, coord=200, nurse_b=404),
        args=P,
        data=_empty,
    ),
    Op(
        "patients:medicine-remove",
        "POST",
        BACK_TO_MEDICINES,
        args={**P, "medicine_id": "medicine"},
        data=lambda w: {"removed_reason": "Used"},
    ),
    Op(
        "patients:medicine-remove",
        "GET",
        BACK_TO_MEDICINES,
        args={**P, "medicine_id": "medicine"},
    ),
    # Deaths: clinicians working a team queue and coordinators (may_record_death), then the
    # patient must be visible (nurse_b: 404).
    Op("patients:death", "GET", page(403, nurse=200, lead=200, coord=200, nurse_b=404), args=P),
    Op(
        "patients:death",
        "POST",
        page(
            403,
            nurse=to("patients:detail", patient_id="patient"),
            lead=to("patients:detail", patient_id="patient"),
            coord=to("patients:detail", patient_id="patient"),
            nurse_b=404,
        ),
        args=P,
        data=_death_form,
    ),
    # Correcting or withdrawing a death: team leads and coordinators (may_correct_death), of a
    # patient in their care; an empty form re-renders with its errors.
    Op(
        "patients:death-correct",
        "GET",
        page(403, lead=200, coord=200),
        args={"patient_id": "dead_patient"},
    ),
    Op(
        "patients:death-correct",
        "POST",
        page(403, lead=200, coord=200),
        args={"patient_id": "dead_patient"},
        data=_empty,
    ),
    # --- Calls -------------------------------------------------------------------------------------
    Op("calls:mine", "GET", page(403, handler=200, coord=200)),
    Op("calls:new", "GET", page(403, handler=200, coord=200)),
    Op("calls:new", "POST", page(403, handler=200, coord=200), data=_empty),
    Op(
        "calls:patient-panel", "GET", page(403, handler=200, coord=200), query="patient={w.patient}"
    ),
    Op("calls:suggestion", "GET", page(403, handler=200, coord=200)),
    Op("calls:suggestion", "POST", page(403, handler=200, coord=200), data=_empty),
    # A call is the SPOC's record: others get 404 even when they see its patient (safe today).
    Op("calls:detail", "GET", page(404, handler=200, coord=200), args={"call_id": "call"}),
    Op("calls:call-backs", "GET", page(403, handler=200, coord=200)),
    Op(
        "calls:call-back-done",
        "GET",
        page(403, handler=405, coord=405),
        args={"call_back_id": "call_back"},
    ),
    # With its outcome (required: tests/calls/test_call_back_outcome.py).
    Op(
        "calls:call-back-done",
        "POST",
        page(403, handler=to("calls:call-backs"), coord=to("calls:call-backs")),
        args={"call_back_id": "call_back"},
        data=lambda w: {"outcome": "REACHED"},
    ),
    Op(
        "calls:call-back-attempt",
        "GET",
        page(403, handler=405, coord=405),
        args={"call_back_id": "call_back"},
    ),
    # An empty form: the outcome is required (400, the list again with the error).
    Op(
        "calls:call-back-attempt",
        "POST",
        page(403, handler=400, coord=400),
        args={"call_back_id": "call_back"},
        data=_empty,
    ),
    Op("calls:reviews", "GET", page(403, coord=200)),
    Op("calls:review", "GET", page(403, coord=405), args={"call_id": "call"}),
    Op(
        "calls:review",
        "POST",
        page(403, coord=to("calls:reviews")),
        args={"call_id": "call"},
        data=lambda w: {"comment": "Priority confirmed."},
    ),
    # Follow-ups of 999 advice and warm transfers: the coordinators (docs/patients-and-calls.md).
    Op("calls:follow-ups", "GET", page(403, coord=200)),
    Op("calls:follow-up-record", "GET", page(403, coord=405), args={"follow_up_id": "follow_up"}),
    Op(
        "calls:follow-up-record",
        "POST",
        page(403, coord=to("calls:follow-ups")),
        args={"follow_up_id": "follow_up"},
        data=lambda w: {"outcome": "CONVEYED"},
    ),
    # --- Telephony (docs/telephony.md) -------------------------------------------------------------
    Op("calls:screen-pop", "GET", page(403, handler=200, coord=200)),
    Op("calls:missed", "GET", page(403, handler=200, coord=200)),
    # The phone system's webhooks believe a signature only: unsigned, nobody gets in, signed in
    # or not.
    Op("telephony:events", "GET", page(405, anon=405)),
    Op("telephony:events", "POST", page(401, anon=401), data=_empty),
    Op("telephony:twilio", "GET", page(405, anon=405)),
    Op("telephony:twilio", "POST", page(401, anon=401), data=_empty),
    # --- Team queues and referrals -----------------------------------------------------------------
    Op("queue:mine", "GET", page(403, nurse=200, nurse_b=200, lead=200, coord=200)),
    Op("queue:caseload", "GET", page(403, nurse=200, nurse_b=200, lead=200, coord=200)),
    # Another team's queue: 404 (not one of your teams).
    Op(
        "queue:team",
        "GET",
        page(403, nurse=200, lead=200, nurse_b=404, coord=404),
        args={"team_id": "team_a"},
    ),
    Op(
        "queue:print",
        "GET",
        page(403, nurse=200, lead=200, nurse_b=404, coord=404),
        args={"team_id": "team_a"},
    ),
    Op("queue:referral", "GET", page(404, **SEES_PATIENT), args={"referral_id": "referral"}),
    # A letter to the GP about a referral (its completion, the patient's death): whoever may see
    # the referral (docs/interop.md, "The GP hears back").
    Op(
        "queue:letter",
        "GET",
        page(404, **SEES_PATIENT),
        args={"referral_id": "dead_referral", "letter_id": "gp_letter"},
    ),
    # Referral actions need a role that writes clinical records (403 before anything else for the
    # manager, directory admin, auditor and system admin, whatever the method).
    Op(
        "queue:action",
        "GET",
        page(405, manager=403, diradmin=403, auditor=403, sysadmin=403),
        args={"referral_id": "referral"},
        fixed={"action": "claim"},
    ),
    # Claim: the team's clinicians. The SPOC see the referral but may not claim it: 403 (today:
    # 302 back to the referral with an error message, nothing changed).
    Op(
        "queue:action",
        "POST",
        page(
            403,
            nurse=to("queue:referral", referral_id="referral"),
            lead=to("queue:referral", referral_id="referral"),
            nurse_b=404,
        ),
        args={"referral_id": "referral"},
        fixed={"action": "claim"},
        data=_empty,
        variant="claim",
    ),
    # The queue's rows post claim, first contact and release to one address, the button naming
    # the action and the referral: the same answers as the referral's own action.
    Op("queue:row-action", "GET", page(405, manager=403, diradmin=403, auditor=403, sysadmin=403)),
    Op(
        "queue:row-action",
        "POST",
        page(
            403,
            nurse=to("queue:referral", referral_id="referral"),
            lead=to("queue:referral", referral_id="referral"),
            nurse_b=404,
        ),
        data=lambda w: {"claim": str(w.referral)},
        variant="claim",
    ),
    # Reassign: the team's lead (today: 302 with an error message for the nurse and the SPOC).
    Op(
        "queue:action",
        "POST",
        page(403, lead=to("queue:referral", referral_id="claimed"), nurse_b=404),
        args={"referral_id": "claimed"},
        fixed={"action": "reassign"},
        data=lambda w: {"to_user_id": str(w.lead_user)},
        variant="reassign",
    ),
    # A bereavement referral's risk screen (docs/triage.md, "Bereavement risk screen"): the
    # clinicians of its team and the SPOC coordinators; an empty form re-renders the page with
    # its errors (400), whatever the referral's need, before the service says it has no screen.
    Op(
        "queue:bereavement-screen",
        "GET",
        page(405, manager=403, diradmin=403, auditor=403, sysadmin=403),
        args={"referral_id": "referral"},
    ),
    Op(
        "queue:bereavement-screen",
        "POST",
        page(403, nurse=400, lead=400, coord=400, nurse_b=404),
        args={"referral_id": "referral"},
        data=_empty,
    ),
    # --- The coordinators' board -------------------------------------------------------------------
    Op("board:board", "GET", page(403, coord=200)),
    Op(
        "board:possible-match-decision",
        "POST",
        page(403, coord=to("board:board")),
        args={"match_id": "possible_match"},
        data=lambda w: {"decision": "different_people"},
    ),
    Op(
        "board:possible-match-decision",
        "GET",
        page(403, coord=405),
        args={"match_id": "possible_match"},
    ),
    # No message waits in the world: a coordinator is told so on the board.
    Op(
        "board:outbox-resend", "POST", page(403, coord=to("board:board")), fixed={"message_id": "1"}
    ),
    Op("board:outbox-resend", "GET", page(403, coord=405), fixed={"message_id": "1"}),
    # --- Urgent alerts (docs/operations.md, "Urgent alerts and acknowledgement"): the page a text
    # links to is for those who may acknowledge (the alerted person, team A's members and leads,
    # the coordinators); one who sees the referral but may not gets 403, anyone else 404. No alert
    # waits in the world: a POST is told so on the page.
    Op(
        "alerts:acknowledge",
        "GET",
        page(404, nurse=200, lead=200, coord=200, handler=403, manager=403),
        args={"referral_id": "referral"},
    ),
    Op(
        "alerts:acknowledge",
        "POST",
        page(
            404,
            handler=403,
            manager=403,
            **{
                c: to("alerts:acknowledge", referral_id="referral")
                for c in ("nurse", "lead", "coord")
            },
        ),
        args={"referral_id": "referral"},
        data=_empty,
    ),
    # Notify's delivery receipts: its bearer token, never a session (401 without one).
    Op("alerts:notify-receipt", "POST", page(401, anon=401), data=_empty),
    Op("alerts:notify-receipt", "GET", page(405, anon=405)),
    # --- The feedback form (docs/security.md, "The feedback form"): the link's token is the only
    # key, signed in or not; an empty answer is drawn again with its errors (400), saving nothing.
    Op("feedback:form", "GET", page(200, anon=200), args={"token": "feedback_token"}),
    Op("feedback:form", "POST", page(400, anon=400), args={"token": "feedback_token"}, data=_empty),
    Op(
        "feedback:form",
        "GET",
        page(404, anon=404),
        fixed={"token": "no-such-token-0123456789abcdefghijklmnopqr"},
        variant="unknown link",
    ),
    Op("feedback:thanks", "GET", page(200, anon=200)),
    # --- Dashboards: managers, and team leads for their own teams ------------------------------------
    Op("dashboards:dashboard", "GET", page(403, manager=200, lead=200)),
    # Another team's figures: the manager (small numbers suppressed outside their organisation);
    # never a lead of another team.
    Op(
        "dashboards:dashboard",
        "GET",
        page(403, manager=200),
        query="team={w.team_b}",
        variant="team B",
    ),
    Op("dashboards:csv", "GET", page(403, manager=200, lead=200), fixed={"key": "calls_by_hour"}),
    Op("dashboards:breaches", "GET", page(403, manager=200, lead=200)),
    # The metric definitions (docs/metrics.md rendered): no data, open to everyone signed in (safe today).
    Op("dashboards:metrics", "GET", page(200)),
    Op("dashboards:admissions", "GET", page(404, **SEES_PATIENT), args=P),
    # Recording an admission is a clinical write: not the manager, who reads the patient (403); the
    # roles without the patient get 404 (safe today; the patient pages answer 403 to roles that
    # never write, before looking the patient up).
    Op(
        "dashboards:admissions",
        "POST",
        page(
            404,
            manager=403,
            **{
                c: to("dashboards:admissions", patient_id="patient")
                for c in ("handler", "nurse", "lead", "coord")
            },
        ),
        args=P,
        data=_admission_form,
    ),
    # --- API (signed-in columns send their token) ---------------------------------------------------
    # The directory as Open Referral UK JSON: any signed-in user or token (safe today: no patients).
    Op("oruk-services", "GET", api(200), token=True),
    Op("oruk-services", "POST", api(405, anon=405), token=True),
    Op("api-token", "GET", api(405, anon=405), token=True),
    # The partner systems' OAuth token endpoint (spoc/accounts/partners.py): a staff token or
    # session is no client credential (401 invalid_client, written nowhere).
    Op("oauth2-token", "GET", api(405, anon=405), token=True),
    Op("oauth2-token", "POST", api(401), token=True, data=_empty),
    # Each column asks for a token with its own password (anonymous: a wrong one).
    Op(
        "api-token",
        "POST",
        api(200, anon=400),
        token=True,
        data=lambda w: {"username": "matrix-nurse", "password": "not-the-password"},
    ),
    # Each column revokes its own token.
    Op("api-token-revoke", "GET", api(405), token=True),
    Op("api-token-revoke", "POST", api(200), token=True, data=_empty),
    Op("api-me", "GET", api(200), token=True),
    Op("api-services", "GET", api(200), token=True),
    Op("api-service", "GET", api(200), args={"service_id": "service_a"}, token=True),
    Op("api-service-capacity", "GET", api(405), args={"service_id": "service_a"}, token=True),
    Op(
        "api-service-capacity",
        "POST",
        api(403, lead=201),
        args={"service_id": "service_a"},
        token=True,
        data=lambda w: {"rag": "GREEN"},
    ),
    Op("api-teams", "GET", api(200), token=True),
    # The duty rota: the page's readers (team A's nurse and lead, handlers, coordinators, managers).
    Op("api-team-rota", "GET", api(403, **READS_ROTA), args=TEAM_A, token=True),
    Op("api-team-on-duty", "GET", api(403, **READS_ROTA), args=TEAM_A, token=True),
    Op("api-patients", "GET", api(200), query="q={w.family_name}", token=True),
    Op("api-patients", "POST", api(403, handler=400, coord=400), token=True, data=_empty),
    Op("api-patient", "GET", api(404, **SEES_PATIENT), args=P, token=True),
    Op(
        "api-patient-death",
        "GET",
        api(404, **SEES_PATIENT),
        args={"patient_id": "dead_patient"},
        token=True,
    ),
    Op(
        "api-patient-death",
        "POST",
        api(403, nurse=201, lead=201, coord=201, nurse_b=404),
        args=P,
        token=True,
        data=_death_json,
    ),
    Op(
        "api-patient-death-corrections",
        "GET",
        api(405),
        args={"patient_id": "dead_patient"},
        token=True,
    ),
    # An empty body: no reason, nothing changed (400) for those who may correct.
    Op(
        "api-patient-death-corrections",
        "POST",
        api(403, lead=400, coord=400),
        args={"patient_id": "dead_patient"},
        token=True,
        data=_empty,
    ),
    Op("api-calls", "GET", api(403, handler=405, coord=405), token=True),
    Op("api-calls", "POST", api(403, handler=400, coord=400), token=True, data=_empty),
    Op("api-call-follow-ups", "GET", api(403, coord=200), token=True),
    Op("api-call-follow-ups", "POST", api(403, coord=405), token=True, data=_empty),
    Op(
        "api-call-follow-up",
        "GET",
        api(403, coord=405),
        args={"follow_up_id": "follow_up"},
        token=True,
    ),
    # An empty body: the outcome is required (400, nothing saved).
    Op(
        "api-call-follow-up",
        "POST",
        api(403, coord=400),
        args={"follow_up_id": "follow_up"},
        token=True,
        data=_empty,
    ),
    Op("api-referrals", "GET", api(200), token=True),
    Op(
        "api-referral",
        "GET",
        api(404, **SEES_PATIENT),
        args={"referral_id": "referral"},
        token=True,
    ),
    Op(
        "api-referral-action",
        "GET",
        api(405),
        args={"referral_id": "referral"},
        fixed={"action": "claim"},
        token=True,
    ),
    Op(
        "api-referral-action",
        "POST",
        api(403, nurse=200, lead=200, nurse_b=404),
        args={"referral_id": "referral"},
        fixed={"action": "claim"},
        token=True,
        data=_empty,
        variant="claim",
    ),
    Op(
        "api-referral-action",
        "POST",
        api(403, lead=200, nurse_b=404),
        args={"referral_id": "claimed"},
        fixed={"action": "reassign"},
        token=True,
        data=lambda w: {"to_user": w.lead_user},
        variant="reassign",
    ),
    Op("api-dashboard", "GET", api(403, manager=200, lead=200), token=True),
    Op(
        "api-dashboard",
        "GET",
        api(403, manager=200),
        query="team={w.team_b}",
        token=True,
        variant="team B",
    ),
    Op("api-schema", "GET", api(200), token=True),
    Op("api-docs", "GET", api(200), token=True),
    # --- The FHIR R4 API (docs/interop.md): the API's authentication; patients and referrals
    # through the permission selectors (404 for what a column may not see), the directory for
    # everyone signed in; searches find only what the column may see ------------------------------
    Op("fhir-metadata", "GET", api(200, anon=200), token=True),
    Op("fhir-metadata", "POST", api(405, anon=405), token=True),
    *(
        op
        for name, read, cells in (
            ("Patient", "patient", api(404, **SEES_PATIENT)),
            ("ServiceRequest", "referral", api(404, **SEES_PATIENT)),
            ("Task", "referral", api(404, **SEES_PATIENT)),
            ("HealthcareService", "service_a", api(200)),
            ("Organization", "organisation_a", api(200)),
            # The world has no site: a read of none is 404 to everyone signed in.
            ("Location", "", api(404)),
        )
        for op in (
            Op(
                f"fhir-{name}-read",
                "GET",
                cells,
                args={"resource_id": read} if read else {},
                fixed={} if read else {"resource_id": "1"},
                token=True,
            ),
            Op(
                f"fhir-{name}-read",
                "POST",
                api(405),
                args={"resource_id": read} if read else {},
                fixed={} if read else {"resource_id": "1"},
                token=True,
            ),
            Op(
                f"fhir-{name}-search",
                "GET",
                api(200),
                token=True,
                query={
                    "Patient": "identifier=9990000018",
                    "ServiceRequest": "patient={w.patient}",
                    "Task": "patient=Patient/{w.patient}",
                }.get(name, ""),
            ),
            # Searches are posted as a form; the matrix posts JSON.
            Op(f"fhir-{name}-search-post", "POST", api(415), token=True, data=_empty),
        )
    ),
    # BaRS messages come from partner systems only: staff, signed in or with a token, never send
    # them (tests/interop/test_process_message.py sends them as partners).
    Op("fhir-process-message", "POST", api(403, anon=401), token=True, data=_empty),
    Op("fhir-process-message", "GET", api(403, anon=401), token=True),
    Op("fhir-unknown", "GET", api(404, anon=404), token=True),
    # --- Django admin: system admins only (spoc/accounts/admin.py); the admin has its own sign-in
    # page, which everyone else is sent to ---------------------------------------------------------
    Op("admin:index", "GET", ADMIN_ONLY),
    Op("admin:accounts_user_changelist", "GET", ADMIN_ONLY),
    Op("admin:accounts_user_change", "GET", ADMIN_ONLY, args={"object_id": "nurse_user"}),
]

# Patterns without rows (by the start of their route), each with the reason.
IGNORED_ROUTES: dict[str, str] = {
    # Django's admin generates a list, add, change, delete and history page per registered model
    # (django-otp adds two more, and a catch-all): all behind the same admin_view check as the
    # three admin rows (admin.site.has_permission, spoc/accounts/admin.py).
    "admin/": "the Django admin's generated pages, represented by the admin rows",
    # Static files are served by WhiteNoise, not by a URL pattern; under DEBUG, Django's static
    # view serves the same public files.
    "static/": "public static files",
}

# The api-token POST cell posts each column's own credentials.
OWN_CREDENTIALS = {"api-token POST"}


def _ignored(pattern: Pattern) -> bool:
    return any(pattern.route.startswith(prefix) for prefix in IGNORED_ROUTES)


def test_every_url_pattern_has_a_row() -> None:
    covered = {op.name for op in ROWS}
    missing = [
        f"add a row for {p.route} ({p.name})"
        for p in url_patterns()
        if p.name not in covered and not _ignored(p)
    ]
    assert not missing, "\n".join(missing)


def test_every_row_names_a_url_pattern() -> None:
    names = {p.name for p in url_patterns()}
    stale = [
        f"remove the row for {op.key}: no such URL pattern" for op in ROWS if op.name not in names
    ]
    assert not stale, "\n".join(stale)


def test_rows_are_unique() -> None:
    keys = [op.key for op in ROWS]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_the_write_check_sees_what_a_request_wrote(world: World, db: None) -> None:
    """The check on refused cells is not vacuous: a claim the nurse may make shows up as written
    rows of the referral and its event; the session's own rows do not count."""
    client = client_for(world, "nurse", token=False)
    before = rows_written()
    response = client.post(
        reverse("queue:action", kwargs={"referral_id": world.referral, "action": "claim"})
    )
    after = rows_written()
    written = {table for table, n in after.items() if n != before.get(table, 0)}
    assert response.status_code == 302
    assert {"referrals_referral", "referrals_referralevent"} <= written
    assert "django_session" not in written


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """The objects and signed-in users, built once for the module inside a transaction that is
    rolled back at its end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield world_build()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def db(world: World, django_db_blocker: Any) -> Iterator[None]:
    """This module's ``db``, in place of pytest-django's (which sets up a test case per test, too
    slow for a thousand cells): a savepoint inside the module's transaction, rolled back after the
    cell, so what an allowed POST changed never reaches the next cell. Its name also tells
    pytest-django that these tests need the test database."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


CELLS = [pytest.param(op, column, id=f"{op.key} | {column}") for op in ROWS for column in COLUMNS]


@pytest.mark.parametrize(("op", "column"), CELLS)
def test_cell(world: World, db: None, op: Op, column: str) -> None:
    expected = op.expect[column]
    cache.clear()  # API throttles count in the cache: cells must not add up
    client = client_for(world, column, token=op.token)
    data: dict[str, Any] = op.data(world) if op.data else {}
    if op.key in OWN_CREDENTIALS and column != ANON:
        data = {"username": f"matrix-{column}", "password": PASSWORD}
    url = op.url(world)
    before = rows_written() if (expected.denies() or op.method == "GET") else {}
    if op.method == "GET":
        response = client.get(url)
    elif op.token:
        response = client.generic(
            op.method, url, data=json.dumps(data), content_type="application/json"
        )
    else:
        response = client.post(url, data)
    assert expected.matches(response, world), (
        f"{op.key} as {column} ({url}): expected {expected.describe(world)}, got {describe_response(response)}"
    )
    if expected.denies() or op.method == "GET":
        after = rows_written()
        written = {
            table: n - before.get(table, 0)
            for table, n in after.items()
            if n != before.get(table, 0)
        }
        assert not written, f"{op.key} as {column} was refused but wrote rows: {written}"
