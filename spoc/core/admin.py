"""What the hub's admin classes share."""

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Rows the admin may list and show but never add, change or delete: they are written only by
    the hub's own code (put it before the ModelAdmin class)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
