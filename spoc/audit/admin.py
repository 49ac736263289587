from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from spoc.audit.models import AccessLog


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only: the access log cannot be edited from the app."""

    list_display = ("at", "username", "action", "object_type", "object_id", "patient_id", "flagged")
    list_filter = ("action", "flagged")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
