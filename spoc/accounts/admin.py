from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from spoc.accounts.models import User


def _system_admins_only(request: HttpRequest) -> bool:
    user: Any = request.user
    return bool(user.is_active and user.is_staff and user.has_perm("accounts.manage_users"))


# Django admin is for system admins only (users, roles, memberships, MFA resets).
admin.site.has_permission = _system_admins_only  # type: ignore[method-assign]


@admin.register(User)
class HubUserAdmin(UserAdmin):
    list_display = ("username", "last_name", "first_name", "is_clinician", "is_active", "last_login")
    list_filter = ("is_clinician", "is_active", "groups")
    fieldsets = (*UserAdmin.fieldsets, ("Clinical", {"fields": ("is_clinician",)}))  # type: ignore[misc]
