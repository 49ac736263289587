"""The hub's Notify client against the fake GOV.UK Notify (devtools/fake_notify.py), started on a
free port: the fake holds Notify's documented checks (the JWT, the template, its placeholders, a
UK mobile number, the error JSON), so a text the fake takes is one Notify would take. The texts
carry no patient identifier, and the fake's delivery receipts reach the hub's callback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.urls import reverse
from notifications_python_client.notifications import NotificationsAPIClient

from devtools.fake_notify import Service, check_token, phone_error, serve_in_thread
from referrals.models import Alert, ReferralEvent
from referrals.services.alerts import alerts_digest
from spoc.core.notify import NotifyFailed, sms_send
from tests.clock import WEEKDAY_MORNING
from tests.referrals import alerting

T = WEEKDAY_MORNING
SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"spoc_test-{SERVICE_ID}-{SECRET}"
TEMPLATES = {
    "ALERT": "f33517ff-2a88-4f6e-b855-c550268ce08a",
    "REPEAT": "f33517ff-2a88-4f6e-b855-c550268ce08b",
    "DIGEST": "f33517ff-2a88-4f6e-b855-c550268ce08c",
    "CALL_BACK_OVERDUE": "f33517ff-2a88-4f6e-b855-c550268ce08d",
    "FEEDBACK": "f33517ff-2a88-4f6e-b855-c550268ce08e",
    "BEREAVED_SURVEY": "f33517ff-2a88-4f6e-b855-c550268ce08f",
}
CALLBACK_TOKEN = "contract-callback-token-0123456789"


@pytest.fixture
def notify(settings) -> Iterator[Service]:
    """The fake Notify on a free port, and the hub's settings pointing at it."""
    service = Service.for_key(
        API_KEY, TEMPLATES, callback_token=CALLBACK_TOKEN, receipt_after_seconds=0.1
    )
    server, url = serve_in_thread(service)
    settings.NOTIFY_API_KEY = API_KEY
    settings.NOTIFY_BASE_URL = url
    settings.NOTIFY_TEMPLATES = TEMPLATES
    settings.NOTIFY_CALLBACK_TOKEN = CALLBACK_TOKEN
    yield service
    server.shutdown()
    server.server_close()


def minutes(n: float):
    return T + timedelta(minutes=n)


@pytest.mark.django_db
def test_the_fake_notify_receives_exactly_the_chain_s_texts_and_no_patient_identifier(
    notify, duty_rota, enqueued, alert_area
):
    alerting.staffed(duty_rota, alert_area)
    referral = alerting.routed("P1")
    patient = referral.patient
    assert patient.nhs_number and patient.postcode and patient.date_of_birth
    alerting.walk(T)
    for moment in (5, 10):
        alerting.walk(minutes(moment))
    for priority, at in (("P4", 11), ("P5", 12)):
        alerting.routed(priority, at=minutes(at))
    with time_machine.travel(minutes(13), tick=False):
        alerts_digest()
    alerting.send_pending(minutes(13))
    link = f"http://127.0.0.1:8000/alerts/{referral.pk}/"
    queue = f"http://127.0.0.1:8000/queue/teams/{alert_area['team'].pk}/"
    assert [(m.phone_number, m.template_kind, m.body) for m in notify.all()] == [
        (
            alerting.NURSE_PHONE,
            "ALERT",
            "SPOC hub: P1 referral for Community Palliative Care team, new referral waiting to "
            f"be accepted. Open it and acknowledge: {link}",
        ),
        (
            alerting.NURSE_PHONE,
            "REPEAT",
            "SPOC hub REMINDER, not yet acknowledged: P1 referral for Community Palliative Care "
            f"team, new referral waiting to be accepted. Open it and acknowledge: {link}",
        ),
        (
            alerting.LEAD_PHONE,
            "ALERT",
            "SPOC hub: P1 referral for Community Palliative Care team, new referral waiting to "
            f"be accepted. Open it and acknowledge: {link}",
        ),
        (
            alerting.NURSE_PHONE,
            "DIGEST",
            "SPOC hub: 2 new routine referrals for Community Palliative Care team. See the queue: "
            f"{queue}",
        ),
    ]
    # Each row holds Notify's id for its text.
    assert sorted(str(a.notify_id) for a in Alert.objects.all()) == sorted(
        m.id for m in notify.all()
    )
    identifiers = [
        patient.given_name,
        patient.family_name,
        patient.nhs_number,
        patient.nhs_number[:3] + " " + patient.nhs_number[3:6],
        patient.postcode,
        patient.postcode.replace(" ", ""),
        patient.date_of_birth.isoformat(),
        patient.date_of_birth.strftime("%d-%b-%Y"),
        patient.date_of_birth.strftime("%d/%m/%Y"),
    ]
    for message in notify.all():
        sent = json.dumps([message.body, message.personalisation, message.reference or ""])
        for identifier in identifiers:
            assert identifier.lower() not in sent.lower(), (identifier, sent)


@pytest.mark.django_db
def test_notify_s_refusals_are_recorded_and_not_tried_again(
    notify, duty_rota, enqueued, alert_area
):
    duty_rota.put(
        alert_area["team"], alert_area["nurse"], "+441514960000"
    )  # a landline: Notify will not text it
    referral = alerting.routed("P1")
    alerting.walk(T)
    alert = Alert.objects.get(referral=referral)
    assert alert.status == "REFUSED"
    assert alert.last_error == "HTTP 400 ValidationError: phone_number Not a UK mobile number"
    assert notify.all() == []
    event = ReferralEvent.objects.get(referral=referral, kind="ALERT_FAILED")
    assert event.data["error"] == alert.last_error
    # The chain moves on at once: the lead, at their work mobile.
    alerting.walk(minutes(0.5))
    assert [m.phone_number for m in notify.all()] == [alerting.LEAD_PHONE]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"NOTIFY_API_KEY": f"spoc_test-{SERVICE_ID}-{uuid.uuid4()}"}, "HTTP 403 AuthError"),
        ({"NOTIFY_API_KEY": f"spoc_test-{uuid.uuid4()}-{SECRET}"}, "HTTP 403 AuthError"),
        (
            {"NOTIFY_TEMPLATES": {**TEMPLATES, "ALERT": str(uuid.uuid4())}},
            "HTTP 400 BadRequestError: Template not found",
        ),
    ],
)
def test_a_wrong_key_or_template_is_refused_as_notify_refuses_it(notify, settings, change, error):
    for name, value in change.items():
        setattr(settings, name, value)
    with pytest.raises(NotifyFailed) as failed:
        sms_send(
            phone=alerting.NURSE_PHONE,
            template_kind="ALERT",
            personalisation={"priority": "P1", "team": "A team", "what": "x", "link": "y"},
            reference="spoc-alert-1",
        )
    assert failed.value.refused
    assert failed.value.detail.startswith(error)


def test_a_missing_placeholder_is_refused(notify):
    with pytest.raises(NotifyFailed) as failed:
        sms_send(
            phone=alerting.NURSE_PHONE,
            template_kind="ALERT",
            personalisation={"priority": "P1", "team": "A team"},
            reference="spoc-alert-1",
        )
    assert failed.value.refused
    assert failed.value.detail == "HTTP 400 BadRequestError: Missing personalisation: what, link"


def test_notify_unreachable_is_tried_again_later(settings):
    settings.NOTIFY_API_KEY = API_KEY
    settings.NOTIFY_TEMPLATES = TEMPLATES
    settings.NOTIFY_BASE_URL = "http://127.0.0.1:9"  # discard: nothing listens
    with pytest.raises(NotifyFailed) as failed:
        sms_send(
            phone=alerting.NURSE_PHONE,
            template_kind="DIGEST",
            personalisation={"count": "1", "team": "A team", "link": "y"},
            reference="r",
        )
    assert not failed.value.refused


def test_the_official_client_reads_a_text_back_by_its_id(notify):
    sent = sms_send(
        phone="07700 900103",
        template_kind="DIGEST",
        personalisation={"count": "1 new routine referral", "team": "Night team", "link": "L"},
        reference="spoc-alert-9",
    )
    client = NotificationsAPIClient(API_KEY, base_url=django_settings.NOTIFY_BASE_URL)
    answer = client.get_notification_by_id(str(sent.notification_id))
    assert answer["phone_number"] == alerting.COORDINATOR_PHONE
    assert answer["type"] == "sms" and answer["reference"] == "spoc-alert-9"
    assert answer["body"] == "SPOC hub: 1 new routine referral for Night team. See the queue: L"


def _token(claims: dict, *, secret: str = SECRET, alg: str = "HS256") -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signing = f"{part({'typ': 'JWT', 'alg': alg})}.{part(claims)}"
    signature = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    ("header", "status", "message"),
    [
        ("", 401, "Unauthorized: authentication token must be provided"),
        ("Bearer not.a.jwt", 403, "Invalid token: signature, api token not found"),
        (
            f"Bearer {_token({'iss': SERVICE_ID, 'iat': 1000}, alg='HS512')}",
            403,
            "Invalid token: algorithm used is not HS256",
        ),
        (f"Bearer {_token({'iat': 1000})}", 403, "Invalid token: iss field not provided"),
        (
            f"Bearer {_token({'iss': SERVICE_ID, 'iat': 1000}, secret='wrong')}",
            403,
            "Invalid token: API key not found",
        ),
        (
            f"Bearer {_token({'iss': SERVICE_ID, 'iat': 1000 - 31})}",
            403,
            "Error: Your system clock must be accurate to within 30 seconds",
        ),
        (
            f"Bearer {_token({'iss': SERVICE_ID, 'iat': 1000 + 31})}",
            403,
            "Error: Your system clock must be accurate to within 30 seconds",
        ),
    ],
)
def test_the_fake_checks_the_token_as_notify_documents(header, status, message):
    service = Service.for_key(API_KEY, TEMPLATES)
    with pytest.raises(Exception) as refused:
        check_token(header, service, now=1000)
    assert (refused.value.status, refused.value.message) == (status, message)  # type: ignore[attr-defined]
    check_token(f"Bearer {_token({'iss': SERVICE_ID, 'iat': 1000 - 30})}", service, now=1000)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("07700 900123", None),
        ("+44 7700 900123", None),
        ("(0044) 7700-900123", None),
        ("01514 960000", "phone_number Not a UK mobile number"),
        ("07700 9001234", "phone_number Too many digits"),
        ("07700 90012", "phone_number Not enough digits"),
        ("07700 9OO123", "phone_number Must not contain letters or symbols"),
        ("+33 6 12 34 56 78", "Cannot send to international mobile numbers"),
    ],
)
def test_the_fake_checks_phone_numbers_as_notify_documents(number, message):
    error = phone_error(number)
    assert (error.message if error else None) == message


def test_the_fake_answers_notify_s_error_json_over_http(notify):
    request = urllib.request.Request(  # noqa: S310 (the fake on 127.0.0.1)
        django_settings.NOTIFY_BASE_URL + "/v2/notifications/sms",
        data=json.dumps({"phone_number": alerting.NURSE_PHONE}).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {_token({'iss': SERVICE_ID, 'iat': int(time.time())})}",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310 (the fake on 127.0.0.1)
    assert answer.value.code == 400
    assert json.loads(answer.value.read()) == {
        "status_code": 400,
        "errors": [{"error": "ValidationError", "message": "template_id is a required property"}],
    }
    page = urllib.request.urlopen(django_settings.NOTIFY_BASE_URL + "/", timeout=5).read().decode()  # noqa: S310
    assert "Nothing yet." in page


@pytest.mark.django_db(transaction=True)
def test_the_fake_s_delivery_receipt_reaches_the_hub_and_the_timeline(
    notify, duty_rota, enqueued, alert_area, live_server
):
    notify.callback_url = live_server.url + reverse("alerts:notify-receipt")
    alerting.staffed(duty_rota, alert_area)
    referral = alerting.routed("P2")
    alerting.walk(T)
    # The receipt arrives a moment after T (the live server shares this process's clock), not at
    # whatever time the tests run.
    with time_machine.travel(T + timedelta(seconds=30), tick=True):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if ReferralEvent.objects.filter(referral=referral, kind="ALERT_DELIVERED").exists():
                break
            time.sleep(0.1)
    alert = Alert.objects.get(referral=referral)
    assert alert.status == "delivered"
    assert notify.all()[0].receipt == "HTTP 200"
    assert list(
        ReferralEvent.objects.filter(referral=referral, kind__startswith="ALERT_").values_list(
            "kind", flat=True
        )
    ) == ["ALERT_SENT", "ALERT_DELIVERED"]
