"""The directory as Open Referral UK JSON over HTTP (for the URL ``/api/oruk/services``)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed

from services.oruk import directory_export
from spoc.accounts.authentication import ExpiringTokenAuthentication
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record


@require_GET
def oruk_services(request: HttpRequest) -> JsonResponse:
    """GET: ``directory_export()`` as JSON, for a signed-in user or an API token
    (``Authorization: Token <key>``); anyone else gets 401 JSON. Each export is logged."""
    user = request.user
    if not user.is_authenticated:
        try:
            authenticated = ExpiringTokenAuthentication().authenticate(request)  # type: ignore[arg-type]
        except AuthenticationFailed as error:
            return _unauthorised(str(error.detail))
        if authenticated is None:
            return _unauthorised("Authentication credentials were not provided.")
        user = authenticated[0]
    data = directory_export()
    access_log_record(
        action=AccessLog.Action.EXPORT,
        user=user,
        request=request,
        object_type="directory",
        detail={"format": "oruk", "services": len(data["services"])},
    )
    return JsonResponse(data)


def _unauthorised(detail: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=401)
    response["WWW-Authenticate"] = 'Token realm="api"'
    return response
