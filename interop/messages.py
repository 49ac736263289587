"""`POST /fhir/R4/$process-message`: BaRS messages from partner systems (interop/bars.py). Only a
partner whose token may send referrals reaches it; a member of staff, signed in or with an API
token, is refused (403)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from interop.bars import message_process
from interop.codes import FHIR_JSON
from interop.views import FhirView, fhir_base
from spoc.accounts.partners import MaySendReferrals, Partner

# What a message may be sent as.
MESSAGE_MEDIA_TYPES = (FHIR_JSON, "application/json")


class ProcessMessageView(FhirView):
    permission_classes = [MaySendReferrals]
    # The body is read as it came: its digest tells a repeated message from another one.
    parser_classes = []
    http_method_names = ["post"]

    def post(self, request: Request) -> Response:
        media_type = request.content_type.split(";")[0].strip().lower()
        if media_type not in MESSAGE_MEDIA_TYPES:
            raise exceptions.UnsupportedMediaType(media_type)
        partner = request.user
        assert isinstance(partner, Partner)  # MaySendReferrals lets no one else in
        answer = message_process(
            partner=partner.system,
            body=request.body,
            request_id=request.headers.get("X-Request-ID", ""),
            base=fhir_base(request),
        )
        return Response(answer.body, status=answer.status)
