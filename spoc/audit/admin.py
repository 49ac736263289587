from django.contrib import admin

from spoc.audit.models import AccessLog
from spoc.core.admin import ReadOnlyAdminMixin


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the access log cannot be edited from the app."""

    list_display = ("at", "username", "action", "object_type", "object_id", "patient_id", "flagged")
    list_filter = ("action", "flagged")
