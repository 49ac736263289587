"""Every main page of every role, and the sign-in page, pass axe-core (WCAG 2.0, 2.1 and 2.2 A and
AA, and axe's best practices) with no violation of any impact, on a desktop (1366 x 900) and on a
phone (375 x 812). Screenshots of every page at both widths go to artifacts/screenshots/. On the
same pages no form control reaches past its grid column into the next one, which axe does not look
for (a select held at NHS.UK frontend's least width of 23ex, wider than a narrow column, drawn
over the next column's label).

axe-core is the exact version in package.json, copied by scripts/build_assets.sh to
static/vendor/axe/axe.min.js. The hub's CSP allows scripts from its own origin only (no inline
script), so axe is loaded from the live server under /static/ with ``add_script_tag(url=...)``:
the page's CSP stays on while axe runs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.hub_pages import PHONE, ROLES, WIDE, main_pages, seed_demo_area, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = "/static/vendor/axe/axe.min.js"
# Every rule that has a WCAG A or AA tag, and the best practices (docs/testing.md, "Accessibility").
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
WIDTHS = {"wide": WIDE, "phone": PHONE}


def axe_violations(page: Any, live_url: str) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=f"{live_url}{AXE}")
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(' ')),
            }));
        }""",
        AXE_TAGS,
    )


# Each visible control whose right edge passes the content box of its nearest grid column.
SPILLED = """() => [...document.querySelectorAll('input, select, textarea')].flatMap(control => {
    const column = control.closest('[class*="nhsuk-grid-column-"]');
    const box = control.getBoundingClientRect();
    if (!column || box.width === 0 || control.closest('.nhsuk-table-container')) return [];
    const edge = column.getBoundingClientRect().right - parseFloat(getComputedStyle(column).paddingRight);
    return box.right > edge + 0.5
        ? [`${control.tagName.toLowerCase()}[name=${control.name}]: ${Math.round(box.right - edge)} px past its column`]
        : [];
})"""


def spilled_controls(page: Any) -> list[dict[str, Any]]:
    """The controls that reach past their column, in the shape of axe's violations."""
    targets = page.evaluate(SPILLED)
    help_ = "Form controls stay inside their grid column"
    return (
        [{"id": "control-past-its-column", "impact": "layout", "help": help_, "targets": targets}]
        if targets
        else []
    )


def describe(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: {v['id']} ({v['impact']}) {v['help']}")
            lines.extend(f"    {target}" for target in v["targets"][:6])
            if len(v["targets"]) > 6:
                lines.append(f"    ... and {len(v['targets']) - 6} more")
    return "\n".join(lines)


def check_pages(
    page: Any, live_url: str, pages: list[tuple[str, str]], width: str, screenshot: Any
) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for name, path in pages:
        response = page.goto(f"{live_url}{path}")
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        screenshot(page, f"{name}-{width}")
        # The forms folded in <details> (a referral's actions, the filters) are checked open too:
        # axe skips what is hidden.
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        violations = axe_violations(page, live_url) + spilled_controls(page)
        if violations:
            found[f"{name} {path} at {width}"] = violations
    return found


def check_enrol_key_step(
    page: Any, live_url: str, width: str, screenshot: Any
) -> dict[str, list[dict[str, Any]]]:
    """The second step of two-factor enrolment: the QR code, the key and the code's field."""
    page.goto(f"{live_url}/accounts/mfa/enrol/")
    page.get_by_role("button", name="Start set-up").click()
    page.locator(".hub-qr svg").wait_for()
    # The header's menu folds into "More" when the page's scripts have run (static/js/app.js).
    page.wait_for_load_state("load")
    screenshot(page, f"mfa-enrol-key-{width}")
    violations = axe_violations(page, live_url)
    return (
        {f"mfa-enrol-key /accounts/mfa/enrol/ (started) at {width}": violations}
        if violations
        else {}
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_sign_in_page_has_no_axe_violations(browser, live_url, width, screenshot):
    page = browser.new_context(viewport=WIDTHS[width]).new_page()
    found = check_pages(page, live_url, [("sign-in", "/accounts/login/")], width, screenshot)
    assert not found, "axe-core found:\n" + describe(found)


@pytest.mark.parametrize("username", ROLES)
def test_every_main_page_of_the_role_has_no_axe_violations(
    browser, live_url, settings, username, screenshot
):
    seed_demo_area(settings)
    pages = main_pages(username)
    found = {}
    for width, viewport in WIDTHS.items():
        page = sign_in(browser, live_url, username, viewport=viewport)
        found.update(check_pages(page, live_url, pages, width, screenshot))
        if username == "handler":
            found.update(check_enrol_key_step(page, live_url, width, screenshot))
        page.context.close()
    assert not found, f"axe-core found, signed in as {username}:\n" + describe(found)


def check_here(
    page: Any, live_url: str, name: str, screenshot: Any
) -> dict[str, list[dict[str, Any]]]:
    """axe-core on the page as it is now (after a click), with its screenshot, once the page the
    click brought has loaded (its style sheets in), not as soon as the element waited for is there."""
    page.wait_for_load_state("load")
    screenshot(page, name)
    violations = axe_violations(page, live_url)
    return {name: violations} if violations else {}


def feedback_links() -> dict[str, str]:
    """A Friends and Family Test and a bereaved relatives' survey, each sent with a link (the
    token's hash kept, as experience/services.py keeps it): their tokens."""
    from datetime import timedelta

    from django.utils import timezone

    from experience.models import Invitation
    from experience.selectors import token_hash
    from tests.factories import TeamFactory, UserFactory
    from tests.referrals.factories import ReferralFactory

    now = timezone.now()
    links = {"fft": "a" * 43, "survey": "b" * 43}
    for kind, token in (("FFT", links["fft"]), ("BEREAVED", links["survey"])):
        referral = ReferralFactory(team=TeamFactory())
        Invitation.objects.create(
            kind=kind,
            patient=referral.patient,
            referral=referral,
            team=referral.team,
            phone="+447700900123",
            consent_recorded_by=UserFactory(),
            consent_recorded_at=now,
            due_at=now,
            sent_at=now,
            token_hash=token_hash(token),
            expires_at=now + timedelta(days=14),
        )
    return links


@pytest.mark.parametrize("width", WIDTHS)
def test_the_feedback_form_has_no_axe_violations(browser, live_url, width, screenshot):
    """The public form behind a feedback text, signed out: the test and the survey, an answer
    left out (the error summary), the thanks page and a link that cannot be used."""
    links = feedback_links()
    page = browser.new_context(viewport=WIDTHS[width]).new_page()
    found = check_pages(
        page,
        live_url,
        [
            ("feedback-form", f"/feedback/{links['fft']}/"),
            ("feedback-survey", f"/feedback/{links['survey']}/"),
        ],
        width,
        screenshot,
    )
    page.goto(f"{live_url}/feedback/{links['fft']}/")
    page.get_by_role("button", name="Send your answers").click()
    page.get_by_test_id("error-summary").wait_for()
    found.update(check_here(page, live_url, f"feedback-form-error-{width}", screenshot))
    page.get_by_label("Very good").check()
    page.get_by_label("Please can you tell us why you gave your answer?").fill("Kind and quick.")
    page.get_by_role("button", name="Send your answers").click()
    page.get_by_test_id("feedback-thanks").wait_for()
    found.update(check_here(page, live_url, f"feedback-thanks-{width}", screenshot))
    closed = page.goto(f"{live_url}/feedback/{links['fft']}/")
    assert closed is not None and closed.status == 404
    assert "This link cannot be used" in page.content()
    found.update(check_here(page, live_url, f"feedback-closed-{width}", screenshot))
    assert not found, "axe-core found on the feedback form:\n" + describe(found)
