"""The phone system's side of the hub (docs/telephony.md): the signed webhooks its events come in
by, in the hub's own format and as Twilio's voice status callbacks; the screen pop and the
missed calls for the handlers. The webhooks take no session and no CSRF token: a request is
believed only for its signature, its freshness and an event id never seen before.
Every refusal is logged (``calls.telephony`` logger, warning) with its reason and the client's
address, never the body."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls import telephony as rules
from calls.selectors.telephony import missed_calls, screen_pop_for
from calls.services.telephony import DuplicateEvent, telephony_event_record
from referrals.access import visible_patients
from spoc.audit.services import client_ip

logger = logging.getLogger("calls.telephony")


class Refused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def _refusal(request: HttpRequest, refused: Refused) -> JsonResponse:
    logger.warning(
        "Telephony event refused (%s, %s): %s from %s",
        refused.status,
        refused.code,
        refused.detail,
        client_ip(request),
    )
    return JsonResponse({"detail": refused.detail, "code": refused.code}, status=refused.status)


def _body(request: HttpRequest) -> bytes:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > rules.MAX_BODY_BYTES:
        raise Refused(400, "too_large", f"The body is over {rules.MAX_BODY_BYTES} bytes.")
    body = request.read(rules.MAX_BODY_BYTES + 1)
    if len(body) > rules.MAX_BODY_BYTES:
        raise Refused(400, "too_large", f"The body is over {rules.MAX_BODY_BYTES} bytes.")
    return body


def _record(event: rules.TelephonyEventIn) -> JsonResponse:
    try:
        phone_call = telephony_event_record(event=event)
    except DuplicateEvent as exc:
        raise Refused(
            409, "duplicate_event", "This event id was received before; nothing changed."
        ) from exc
    return JsonResponse(
        {"call": phone_call.external_id, "outcome": phone_call.outcome, "event": event.event_id},
        status=200,
    )


@csrf_exempt
@require_POST
def telephony_events(request: HttpRequest) -> HttpResponse:
    """``POST /telephony/events/``: one event in the hub's JSON format, signed with the shared
    secret (``X-Spoc-Timestamp``, ``X-Spoc-Signature``)."""
    try:
        secret = settings.TELEPHONY_WEBHOOK_SECRET
        if not secret:
            raise Refused(503, "not_configured", "Telephony events are not configured.")
        body = _body(request)
        timestamp = request.headers.get(rules.TIMESTAMP_HEADER, "")
        given = request.headers.get(rules.SIGNATURE_HEADER, "")
        if not timestamp or not given:
            raise Refused(401, "unsigned", "The event must be signed (docs/telephony.md).")
        try:
            sent_at = rules.signed_time(timestamp)
        except rules.InvalidEvent as exc:
            raise Refused(401, exc.code, exc.message) from exc
        if not rules.signature_matches(rules.signature(secret, timestamp, body), given):
            raise Refused(401, "bad_signature", "The signature does not match.")
        if not rules.fresh(sent_at, now=timezone.now()):
            raise Refused(401, "stale", "The timestamp is more than 5 minutes from now.")
        try:
            data = json.loads(body)
        # RecursionError: arrays nested thousands deep, which fit in the size limit.
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise Refused(400, "invalid_json", "The body is not JSON.") from exc
        try:
            event = rules.event_from_json(
                data, allow_loopback=settings.TELEPHONY_LOOPBACK_RECORDINGS
            )
        except rules.InvalidEvent as exc:
            raise Refused(400, exc.code, exc.message) from exc
        return _record(event)
    except Refused as refused:
        return _refusal(request, refused)


@csrf_exempt
@require_POST
def telephony_twilio(request: HttpRequest) -> HttpResponse:
    """``POST /telephony/twilio/``: a Twilio voice status callback (form-encoded), signed with
    the account's auth token (``X-Twilio-Signature``). The handler's extension comes from the
    callback address's query (``?extension=2001``), which the signature covers."""
    try:
        token = settings.TELEPHONY_TWILIO_AUTH_TOKEN
        if not token:
            raise Refused(503, "not_configured", "Twilio callbacks are not configured.")
        body = _body(request)
        given = request.headers.get(rules.TWILIO_SIGNATURE_HEADER, "")
        if not given:
            raise Refused(401, "unsigned", "The callback must carry X-Twilio-Signature.")
        try:
            fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise Refused(400, "invalid_form", "The body is not form-encoded text.") from exc
        pairs = [(name, value) for name, values in fields.items() for value in values]
        url = request.build_absolute_uri()
        if not rules.signature_matches(rules.twilio_signature(token, url, pairs), given):
            raise Refused(401, "bad_signature", "The signature does not match.")
        params = {name: values[-1] for name, values in fields.items()}
        try:
            sent_at = rules.twilio_sent_at(params)
        except rules.InvalidEvent as exc:
            raise Refused(400, exc.code, exc.message) from exc
        if not rules.fresh(sent_at, now=timezone.now()):
            raise Refused(401, "stale", "The Timestamp is more than 5 minutes from now.")
        extension = (parse_qs(urlsplit(url).query).get("extension") or [""])[-1]
        try:
            event = rules.event_from_twilio(
                params,
                extension=extension,
                allow_loopback=settings.TELEPHONY_LOOPBACK_RECORDINGS,
            )
        except rules.InvalidEvent as exc:
            raise Refused(400, exc.code, exc.message) from exc
        return _record(event)
    except Refused as refused:
        return _refusal(request, refused)


# --- The handler's pages ------------------------------------------------------------------------


@login_required
@permission_required("accounts.take_calls", raise_exception=True)
def screen_pop(request: HttpRequest) -> HttpResponse:
    """The screen pop, polled by the home page and the call screen every few seconds: the call
    just answered on this user's extension, with a link to the call screen for it. A poll that
    already shows it (``shown``, the phone call's id, 0 for none) is answered 204, which htmx
    does not swap, so a screen reader announces a new call once, not at every poll. The home
    page's poll (``open=1``) opens the call screen itself for a call answered moments ago
    (``calls.telephony.pop_opens_itself``); the call screen's only offers it."""
    pop = screen_pop_for(user=request.user)
    if request.GET.get("shown") == str(pop.pk if pop else 0):
        return HttpResponse(status=204)
    auto_open = request.GET.get("open") == "1"
    if (
        pop is not None
        and auto_open
        and rules.pop_opens_itself(pop.answered_at, now=timezone.now())
    ):
        # The home page goes to the call screen by itself (htmx follows HX-Redirect).
        response = HttpResponse()
        response["HX-Redirect"] = f"{reverse('calls:new')}?telephony={pop.pk}"
        return response
    return render(request, "calls/screen_pop.html", {"pop": pop, "auto_open": auto_open})


@login_required
@permission_required("accounts.take_calls", raise_exception=True)
def missed_calls_list(request: HttpRequest) -> HttpResponse:
    """Missed calls, abandoned calls and voicemails, with their call-backs and who each number
    may belong to (docs/telephony.md, "Nothing missed")."""
    return render(
        request,
        "calls/missed_calls.html",
        {"missed": missed_calls(patients=visible_patients(request)), "now": timezone.now()},
    )
