"""The rows of a worklist (the team queue, the caseload, the printable queue), drawn in Python.

A queue page is 100 rows of about 40 values each, and its poll redraws them all whenever the
team's queue changes; through the template engine that was half of the page's CPU (a variable
look-up, a filter and an escape per cell, an ``{% include %}`` per carer's referral). Here a row
is one function of its `referrals.selectors.queue.QueueRow`, the viewer and the page's links:
the same HTML, byte for byte, as the template it replaces, drawn several times faster
(docs/performance.md, "The changed poll"). ``templates/queue/_rows.html`` keeps the table
around the rows (its caption, header and form, with the viewer's CSRF token).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as _escape
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from patients.models import RelatedPerson
from referrals.selectors.queue import QueueRow
from referrals.transitions import ReferralStatus

register = template.Library()

QUEUED = str(ReferralStatus.QUEUED)
ACCEPTED = str(ReferralStatus.ACCEPTED)
ON_HOLD = str(ReferralStatus.ON_HOLD)
URGENT_BADGE = (
    '<br><strong class="nhsuk-tag hub-tag--urgent" data-testid="badge-urgent">'
    "Urgent: not claimed</strong>"
)
BREACHED_BADGE = (
    '<br><strong class="nhsuk-tag nhsuk-tag--red" data-testid="badge-breached">Breached</strong>'
)
AT_RISK_BADGE = (
    '<br><strong class="nhsuk-tag nhsuk-tag--orange" data-testid="badge-at-risk">At risk</strong>'
)
OVERDUE_BADGE = (
    '<br><strong class="nhsuk-tag nhsuk-tag--yellow" data-testid="badge-accept-overdue">'
    "Accept overdue</strong>"
)


def escape(value: Any) -> str:
    """What ``{{ value }}`` writes for a value that is not already safe: Django's own escape
    (``django.utils.html.escape`` is ``html.escape``), without its lazy-string wrapper."""
    return _escape(str(value))


def for_person_html(person: RelatedPerson) -> str:
    """Whom a referral is for, as ``templates/referrals/_for_person.html`` draws it (the referral
    page still includes that template; a test holds the two to the same HTML)."""
    parts = [
        '\n<span class="hub-for-person" data-testid="for-person">For <strong>',
        escape(person.family_name.upper()),
        ", ",
        escape(person.given_name),
        "</strong> (",
        escape(person.get_relationship_display().lower()),
        ", main carer)" if person.is_main_carer else ")",
    ]
    if person.phone:
        parts += (
            ' · <a href="tel:',
            escape(person.phone.as_e164),
            '">',
            escape(person.phone.as_national),
            "</a>",
        )
    if person.postcode:
        parts += (" · ", escape(person.postcode))
    parts.append("</span>\n")
    return "".join(parts)


def row_html(
    row: QueueRow,
    *,
    printable: bool,
    viewer_id: Any,
    patient_url: str,
    referral_url: str,
) -> str:
    """One ``<tr>`` of a worklist with the whitespace around it, as the loop of
    ``templates/queue/_rows.html`` drew it. ``viewer_id``: the signed-in user's id (her own
    referrals offer First contact made and Release, or Open); ``patient_url`` and
    ``referral_url``: the links' prefixes, already escaped, to which the row adds its ids."""
    pk = str(row.pk)
    urgent = row.urgent_waiting
    flag = (
        " hub-row--breached"
        if row.breached
        else " hub-row--flagged"
        if row.at_risk or row.accept_overdue
        else ""
    )
    priority = escape(row.priority)
    parts = [
        '\n    <tr class="nhsuk-table__row',
        " hub-row--urgent" if urgent else "",
        flag,
        '" data-testid="queue-row" data-referral="',
        pk,
        '">\n      <td data-label="Priority"><strong class="hub-priority--',
        escape(row.priority.lower()),
        '">',
        priority,
        "</strong>\n        ",
        URGENT_BADGE if urgent else "",
        "\n        ",
        BREACHED_BADGE if row.breached else AT_RISK_BADGE if row.at_risk else "",
        "\n        ",
        OVERDUE_BADGE if row.accept_overdue else "",
        '</td>\n      <td data-label="Patient">',
    ]
    patient_name = escape(row.patient_name)
    if printable:
        parts.append(patient_name)
    else:
        parts += ('<a href="', patient_url, str(row.patient_id), '/">', patient_name, "</a>")
    parts += (
        '<br>\n        <span class="nhsuk-body-s">',
        escape(row.nhs_number or "No NHS number"),
    )
    if row.age is not None:
        parts += (" · ", str(row.age), " y")
    if row.area:
        parts += (" · ", escape(row.area))
    parts.append('</span></td>\n      <td data-label="Need">')
    need_label = escape(row.need_label)
    if printable:
        parts.append(need_label)
    else:
        parts += (
            '<a href="',
            referral_url,
            pk,
            '/" data-testid="queue-referral-link">',
            need_label,
            "</a>",
        )
    if row.for_person:
        parts += ('<br><span class="nhsuk-body-s">', for_person_html(row.for_person), "</span>")
    parts += (
        '</td>\n      <td data-label="Waiting">',
        escape(row.waiting),
        '</td>\n      <td data-label="Accept by">',
        escape(row.accept_by or "—"),
        '</td>\n      <td data-label="Contact by">',
        escape(row.contact_by or "—"),
    )
    if row.contacted:
        parts += ('<br><span class="nhsuk-body-s">contacted ', escape(row.contacted), "</span>")
    parts += (
        '</td>\n      <td data-label="Status"><strong class="nhsuk-tag" data-testid="queue-status">',
        escape(row.status_label),
        "</strong>",
    )
    if row.owner_name:
        parts += (
            '<br><span class="nhsuk-body-s" data-testid="queue-owner">',
            escape(row.owner_name),
        )
        if row.claimed:
            parts += (" since ", escape(row.claimed))
        parts.append("</span>")
    if row.status == ON_HOLD and row.hold_reason:
        parts += ('<br><span class="nhsuk-body-s">', escape(row.hold_reason), "</span>")
    parts.append("</td>\n      ")
    if not printable:
        parts.append('<td data-label="Action">\n        ')
        if row.status == QUEUED:
            parts += (
                '\n        <button class="nhsuk-button nhsuk-button--small" type="submit" '
                'name="claim" value="',
                pk,
                '">Claim<span class="nhsuk-u-visually-hidden"> referral ',
                pk,
                "</span></button>\n        ",
            )
        elif row.owner_id == viewer_id and row.status == ACCEPTED:
            parts += (
                '\n        <button class="nhsuk-button nhsuk-button--small" type="submit" '
                'name="contact" value="',
                pk,
                '">First contact made<span class="nhsuk-u-visually-hidden"> for referral ',
                pk,
                "</span></button>\n        "
                '<button class="nhsuk-button nhsuk-button--secondary nhsuk-button--small" '
                'type="submit" name="release" value="',
                pk,
                '">Release<span class="nhsuk-u-visually-hidden"> referral ',
                pk,
                "</span></button>\n        ",
            )
        elif row.owner_id == viewer_id:
            parts += ('\n        <a href="', referral_url, pk, '/">Open</a>\n        ')
        parts.append("\n      </td>")
    parts.append("\n    </tr>\n  ")
    return "".join(parts)


@register.simple_tag(takes_context=True)
def worklist_rows(context: template.Context, rows: Iterable[QueueRow]) -> SafeString:
    """``{% worklist_rows rows %}``: the rows of ``templates/queue/_rows.html``'s table, each
    drawn by `row_html` for the context's user and links (``printable``: without links or
    actions)."""
    printable = bool(context.get("printable"))
    # As the template compared ``r.owner_id == user.pk``: None without a user (or signed out).
    viewer_id = getattr(context.get("user"), "pk", None)
    patient_url = escape(context.get("patient_url", ""))
    referral_url = escape(context.get("referral_url", ""))
    return mark_safe(  # noqa: S308 - every value above is escaped
        "".join(
            row_html(
                row,
                printable=printable,
                viewer_id=viewer_id,
                patient_url=patient_url,
                referral_url=referral_url,
            )
            for row in rows
        )
    )
