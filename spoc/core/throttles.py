"""API throttles (REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]): DRF's own, counting in
CACHES["default"] (Redis when REDIS_URL is set, so every gunicorn worker adds to one count).

They let a request through when the cache cannot be reached: throttling slows down a scraper or
a password sprayer, and an outage of Redis must not also take the API away from the clinicians
using it. The skipped check is logged, once per request.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework import throttling

logger = logging.getLogger(__name__)


class _AllowWhenCacheIsDown(throttling.SimpleRateThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            logger.warning(
                "API throttle %s not checked: the cache is unreachable (%s)",
                self.__class__.__name__,
                exc.__class__.__name__,
            )
            return True


class UserRateThrottle(_AllowWhenCacheIsDown, throttling.UserRateThrottle):
    """Per signed-in user (API_THROTTLE_USER_RATE); by client address for the anonymous."""


class AnonRateThrottle(_AllowWhenCacheIsDown, throttling.AnonRateThrottle):
    """Per client address, for requests without a user: the token endpoint
    (API_THROTTLE_ANON_RATE). The address is REMOTE_ADDR as spoc.core.middleware's
    TrustedProxyMiddleware set it (NUM_PROXIES = 0), never a client-written X-Forwarded-For."""


class ScopedRateThrottle(_AllowWhenCacheIsDown, throttling.ScopedRateThrottle):
    """Per user and scope, for views that name a `throttle_scope` (patient search:
    API_THROTTLE_PATIENT_SEARCH_RATE)."""


class FeedbackFormThrottle(_AllowWhenCacheIsDown, throttling.SimpleRateThrottle):
    """The public feedback form's requests per client address, signed in or not
    (FEEDBACK_FORM_RATE; docs/security.md, "The feedback form"): it needs no sign-in, so this
    is what slows down anyone trying links or filling the table."""

    scope = "feedback_form"

    def get_rate(self) -> str:
        return str(settings.FEEDBACK_FORM_RATE)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
