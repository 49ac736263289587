"""Signed telephony events for the tests: posted through Django's test client, signed as the
fake phone signs them (devtools/fake_phone.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from devtools.fake_phone import event, signed

SECRET = "test-telephony-secret"  # spoc/settings/test.py
CARER_NUMBER = "0151 496 0123"


def post_event(
    client: Client,
    payload: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    sent_at: datetime | None = None,
) -> Any:
    """POST one event to /telephony/events/, signed with ``secret`` as sent at ``sent_at``."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = signed(body, secret=secret, at=sent_at or timezone.now())
    return client.post(
        "/telephony/events/",
        data=body,
        content_type="application/json",
        headers={name: value for name, value in headers.items() if name != "Content-Type"},
    )


def phone_call(
    client: Client,
    *kinds: str,
    call_id: str = "pbx-1",
    caller: str = CARER_NUMBER,
    extension: str = "2001",
    start: datetime | None = None,
) -> list[Any]:
    """Post each of ``kinds`` ("ringing", "answered", ...) for one call, 20 s apart from
    ``start`` (default: two minutes ago); the responses."""
    start = start or timezone.now() - timedelta(minutes=2)
    return [
        post_event(
            client,
            event(
                kind,
                call_id=call_id,
                caller=caller,
                extension=extension if kind in ("answered", "transferred") else "",
                at=start + timedelta(seconds=20 * step),
            ),
        )
        for step, kind in enumerate(kinds)
    ]


def patient_with_carer(*, carer_phone: str = CARER_NUMBER, **patient: Any) -> Any:
    """A patient whose daughter, their main carer, has ``carer_phone``; returns the patient."""
    from patients.models import RelatedPerson
    from tests.referrals.factories import PatientFactory

    cared_for = PatientFactory(**patient)
    RelatedPerson.objects.create(
        patient=cared_for,
        given_name="Siân",
        family_name="Nguyễn",
        relationship="CHILD",
        phone=carer_phone,
        is_main_carer=True,
        created_at=timezone.now(),
    )
    return cared_for
