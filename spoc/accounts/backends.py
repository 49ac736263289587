"""Permissions from roles, read once per request."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from spoc.accounts.roles import GROUP_PERMISSIONS_CACHE, groups_load


class RoleBackend(ModelBackend):
    """Django's ModelBackend, except that a user's group permissions come from the query that
    also reads their roles (``groups_load``), so a page costs one query for both instead of two.
    Kept on the user object like ModelBackend's own cache: a change of roles is seen from the
    next request on."""

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if (
            obj is not None
            or not user_obj.is_active
            or user_obj.is_anonymous
            or user_obj.is_superuser
        ):
            return super().get_group_permissions(user_obj, obj)
        if not hasattr(user_obj, GROUP_PERMISSIONS_CACHE):
            groups_load(user_obj)
        permissions: set[str] = getattr(user_obj, GROUP_PERMISSIONS_CACHE)
        return permissions
