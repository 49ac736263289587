"""The referral page's action forms explain themselves: the server validates (no browser pop-up),
nothing is chosen for the user, and an action posted with errors comes back as typed under an error
summary at the top of the page, in page order, each error linked to its field's first control,
with nothing saved (docs/architecture.md, "Forms")."""

import pytest
from django.urls import reverse

from referrals.models import Intervention, Referral
from referrals.services.claims import referral_claim
from referrals.services.lifecycle import referral_decline
from referrals.transitions import ReferralStatus
from spoc.accounts.roles import Role
from tests.core.forms_html import page_problems, parse, summary_texts
from tests.referrals.builders import queued
from tests.referrals.factories import member

pytestmark = pytest.mark.django_db


def post(client, referral, action, data):
    response = client.post(reverse("queue:action", args=[referral.pk, action]), data)
    assert response.status_code == 400, response.status_code
    return response.content.decode()


def summary_links(html):
    root = parse(html)
    summary = next(n for n in root.walk() if "nhsuk-error-summary" in n.classes)
    return [a.attrs["href"] for a in summary.walk() if a.tag == "a"]


def control(html, element_id):
    return next(n for n in parse(html).walk() if n.attrs.get("id") == element_id)


def selected(html, element_id):
    select = control(html, element_id)
    return [
        o.attrs.get("value") for o in select.walk() if o.tag == "option" and "selected" in o.attrs
    ]


def textarea(html, element_id):
    return " ".join(control(html, element_id).text).strip()


def test_routing_by_hand_with_errors_comes_back_as_typed_under_the_summary(
    client, make_user, team, other_team, handler
):
    nurse = member(make_user, team, "nurse1")
    referral = queued(team)
    referral_decline(referral_id=referral.pk, user=nurse, reason="NO_CAPACITY", note="")
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.AWAITING_ROUTING
    client.force_login(handler)
    page = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
    assert page_problems(page) == []
    # Awaiting routing, only routing by hand is open: the team starts empty and must be chosen.
    assert selected(page, "id_reroute_team_id") == [""]
    assert "Leave empty to route it again automatically" not in page

    html = post(client, referral, "reroute", {"team_id": "", "reason": "  "})
    assert summary_texts(html) == [
        "Send it to: Choose the team to route the referral to",
        "Why route it again?: Say why the referral is routed again",
    ]
    assert summary_links(html) == ["#id_reroute_team_id", "#id_reroute_reason"]
    assert page_problems(html) == []
    assert "nhsuk-select--error" in control(html, "id_reroute_team_id").classes
    assert "nhsuk-textarea--error" in control(html, "id_reroute_reason").classes
    assert html.index('data-testid="error-summary"') < html.index("<h1")
    assert "<title>Error: Referral" in html

    # A team typed but no reason: the team stays chosen; a team not on the list is refused.
    html = post(client, referral, "reroute", {"team_id": str(other_team.pk), "reason": ""})
    assert selected(html, "id_reroute_team_id") == [str(other_team.pk)]
    assert summary_texts(html) == ["Why route it again?: Say why the referral is routed again"]
    html = post(
        client,
        referral,
        "reroute",
        {"team_id": "999999999", "reason": "Hospice has a bed, Nguyễn family agree"},
    )
    assert summary_texts(html) == ["Send it to: Choose an active team from the list"]
    assert textarea(html, "id_reroute_reason") == "Hospice has a bed, Nguyễn family agree"
    assert page_problems(html) == []
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.AWAITING_ROUTING

    response = client.post(
        reverse("queue:action", args=[referral.pk, "reroute"]),
        {"team_id": str(other_team.pk), "reason": "Hospice has a bed"},
    )
    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).team == other_team


def test_a_decline_chooses_nothing_for_the_nurse_and_a_service_error_keeps_the_note(
    client, make_user, team
):
    nurse = member(make_user, team, "nurse1")
    referral = queued(team)
    client.force_login(nurse)
    page = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
    assert selected(page, "id_decline_reason") == [""]
    assert page_problems(page) == []

    html = post(client, referral, "decline", {"note": "No nurse tonight"})
    assert summary_texts(html) == [
        "Why can the team not take it?: Choose why the team cannot take the referral"
    ]
    assert summary_links(html) == ["#id_decline_reason"]
    assert textarea(html, "id_decline_note") == "No nurse tonight"
    assert 'data-testid="action-decline" open' in html
    assert page_problems(html) == []

    # The service refuses a duplicate: its message lands on the reason, the choice and note kept.
    html = post(client, referral, "decline", {"reason": "DUPLICATE", "note": "Same as REF-12"})
    assert summary_texts(html)[0].startswith(
        "Why can the team not take it?: A duplicate is cancelled"
    )
    assert selected(html, "id_decline_reason") == ["DUPLICATE"]
    assert textarea(html, "id_decline_note") == "Same as REF-12"
    assert page_problems(html) == []
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.QUEUED


def test_an_intervention_with_errors_lists_them_in_page_order_and_keeps_the_rest(
    client, make_user, team
):
    nurse = member(make_user, team, "nurse1")
    referral = queued(team)
    referral_claim(referral_id=referral.pk, user=nurse)
    client.force_login(nurse)
    html = post(
        client,
        referral,
        "intervention",
        {
            "kind": "",
            "at": "yesterday-ish",
            "notes": "Syringe driver checked; family (Siân) reassured",
            "admission_avoided": "on",
            "bed_days_saved": "0",
        },
    )
    texts = summary_texts(html)
    assert [t.split(":")[0] for t in texts] == [
        "What was done",
        "When",
        "Bed days saved (estimate, 1 to 365)",
    ]
    assert texts[:2] == ["What was done: Choose what was done", "When: Enter a real date and time"]
    assert summary_links(html) == [
        "#id_intervention_kind",
        "#id_intervention_at",
        "#id_intervention_bed_days_saved",
    ]
    assert (
        textarea(html, "id_intervention_notes") == "Syringe driver checked; family (Siân) reassured"
    )
    assert "checked" in control(html, "id_intervention_admission_avoided").attrs
    assert control(html, "id_intervention_at").attrs["value"] == "yesterday-ish"
    assert page_problems(html) == []
    assert not Intervention.objects.exists()


def test_changing_the_priority_or_cancelling_without_a_reason_is_explained(client, make_user, team):
    lead = member(make_user, team, "lead1", role=Role.TEAM_LEAD, lead=True)
    referral = queued(team)
    client.force_login(lead)
    html = post(client, referral, "reprioritise", {"priority": "", "reason": ""})
    assert summary_texts(html) == [
        "New priority: Choose the new priority",
        "Why change the priority?: Say why the priority changes",
    ]
    assert page_problems(html) == []
    html = post(client, referral, "cancel", {"reason": ""})
    assert summary_texts(html) == ["Why cancel it?: Say why the referral is cancelled"]
    html = post(client, referral, "enter_in_error", {"reason": ""})
    assert summary_texts(html) == ["What was wrong?: Say what was wrong with the referral"]
    assert summary_links(html) == ["#id_enter_in_error_reason"]
    assert page_problems(html) == []
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.QUEUED


def test_no_action_form_on_the_page_preselects_a_choice_or_asks_the_browser_to_validate(
    client, make_user, team
):
    """Every action a lead and a nurse can see, on a referral in each working status."""
    nurse = member(make_user, team, "nurse1")
    lead = member(make_user, team, "lead1", role=Role.TEAM_LEAD, lead=True)
    waiting = queued(team)
    claimed = queued(team)
    referral_claim(referral_id=claimed.pk, user=nurse)
    seen = set()
    for user in (nurse, lead):
        client.force_login(user)
        for referral in (waiting, claimed):
            html = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
            assert page_problems(html) == []
            root = parse(html)
            for form in (n for n in root.walk() if n.tag == "form"):
                for node in form.walk():
                    if node.tag == "option" and "selected" in node.attrs:
                        assert node.attrs.get("value") == "", (
                            f"{form.attrs['action']}: {node.attrs}"
                        )
                    if node.tag == "input" and node.attrs.get("type") in ("radio", "checkbox"):
                        assert "checked" not in node.attrs, f"{form.attrs['action']}: {node.attrs}"
                seen.add(form.attrs["action"].rstrip("/").rsplit("/", 1)[-1])
    assert {
        "decline",
        "cancel",
        "enter_in_error",
        "reprioritise",
        "reassign",
        "hold",
        "intervention",
    } <= seen
