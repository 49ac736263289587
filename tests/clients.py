"""API clients for tests."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient


def api_client(user: Any) -> APIClient:
    """An API client signed in as ``user`` (no token: DRF's test authentication)."""
    client = APIClient()
    client.force_authenticate(user)
    return client
