"""The page an urgent alert's text message links to, and GOV.UK Notify's delivery receipts
(docs/operations.md, "Urgent alerts and acknowledgement").

A GET never acknowledges: phones, messaging apps and link scanners fetch the links in a text
message, and an acknowledgement by a fetch would tell the chain someone had seen it when nobody
had (docs/clinical-safety/hazard-log.md). Only the button (a POST, by a signed-in person)
acknowledges."""

from __future__ import annotations

import hmac
import json
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from experience.services import invitation_receipt_record
from referrals.models import Referral
from referrals.selectors.alerts import alert_page
from referrals.services.alerts import (
    AcknowledgeNotPermitted,
    NothingToAcknowledge,
    alert_acknowledge,
    alert_receipt_record,
)
from spoc.core.notify import RECEIPT_STATUSES

# A delivery receipt is a few hundred bytes (Notify's callback: ten short fields).
RECEIPT_MAX_BYTES = 10_000


def _back(request: HttpRequest, referral_id: int) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("alerts:acknowledge", args=[referral_id])


@login_required
@require_http_methods(["GET", "POST"])
def alert_acknowledge_page(request: HttpRequest, referral_id: int) -> HttpResponse:
    """GET: what the alert is about and one "Acknowledge" button; POST: acknowledge every alert
    of the referral waiting for someone, then back here (or to ``next``)."""
    if request.method == "POST":
        try:
            count = alert_acknowledge(referral_id=referral_id, user=request.user)
        except Referral.DoesNotExist as exc:
            raise Http404("No such referral") from exc
        except AcknowledgeNotPermitted as exc:
            if alert_page(user=request.user, referral_id=referral_id) is None:
                raise Http404("No such referral") from exc
            raise PermissionDenied(str(exc)) from exc
        except NothingToAcknowledge as exc:
            messages.info(request, str(exc))
        else:
            messages.success(
                request,
                "Acknowledged: nobody else will be texted about this."
                if count
                else "Acknowledged.",
            )
        return redirect(_back(request, referral_id))
    page = alert_page(user=request.user, referral_id=referral_id)
    if page is None:
        raise Http404("No such referral")
    if not page.may_acknowledge:
        raise PermissionDenied("You may not acknowledge this referral's alerts.")
    return render(request, "alerts/acknowledge.html", {"page": page, "referral": page.referral})


def _receipt(body: bytes) -> tuple[uuid.UUID, str] | None:
    """Notify's id and status from a delivery receipt; None when it is not one."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    notification_id, status = data.get("id"), data.get("status")
    if not isinstance(notification_id, str) or not isinstance(status, str):
        return None
    if status not in RECEIPT_STATUSES:
        return None
    try:
        return uuid.UUID(notification_id), status
    except ValueError:
        return None


def _bearer_ok(request: HttpRequest) -> bool:
    expected = settings.NOTIFY_CALLBACK_TOKEN
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


@csrf_exempt
@require_POST
def notify_receipt(request: HttpRequest) -> HttpResponse:
    """GOV.UK Notify's delivery receipt for a text message: the bearer token (compared in
    constant time; 401 without it, 403 when wrong), then the JSON (400 when it is not a receipt:
    Notify retries only on failures of its own, so a 4xx is not sent again). A receipt for a
    message the hub does not know is answered 200 and ignored: retrying it would change
    nothing."""
    if "Authorization" not in request.headers:
        return JsonResponse({"detail": "A bearer token is required."}, status=401)
    if not _bearer_ok(request):
        return JsonResponse({"detail": "Wrong bearer token."}, status=403)
    if len(request.body) > RECEIPT_MAX_BYTES:
        return JsonResponse({"detail": "Too large for a delivery receipt."}, status=400)
    receipt = _receipt(request.body)
    if receipt is None:
        return JsonResponse({"detail": "Not a delivery receipt of a text message."}, status=400)
    recorded = alert_receipt_record(
        notification_id=receipt[0], status=receipt[1]
    ) or invitation_receipt_record(notification_id=receipt[0], status=receipt[1])
    return JsonResponse({"recorded": recorded is not None})
