from typing import Any

from django.conf import settings
from django.http import HttpRequest


def hub(request: HttpRequest) -> dict[str, Any]:
    return {
        "SERVICE_NAME": "SPOC hub",
        "IDLE_TIMEOUT_SECONDS": settings.SESSION_IDLE_TIMEOUT_SECONDS,
        "IDLE_WARNING_SECONDS": settings.SESSION_IDLE_WARNING_SECONDS,
    }
