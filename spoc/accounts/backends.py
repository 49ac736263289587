"""Permissions from roles, read once per request."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from spoc.accounts.roles import GROUP_PERMISSIONS_CACHE, USER_PERMISSIONS_CACHE, groups_load


class RoleBackend(ModelBackend):
    """Django's ModelBackend, except that a user's permissions, their groups' and their own, come
    from the query that also reads their roles (``groups_load``), so a page costs one query for
    all three instead of three. Kept on the user object like ModelBackend's own caches: a change
    of roles is seen from the next request on."""

    def _permissions_loaded(self, user_obj: Any, obj: Any, cache: str) -> set[str] | None:
        """The permissions ``groups_load`` keeps in ``cache``; None where ModelBackend's own
        reading applies (an object's permissions, an inactive, anonymous or super user)."""
        if (
            obj is not None
            or not user_obj.is_active
            or user_obj.is_anonymous
            or user_obj.is_superuser
        ):
            return None
        if not hasattr(user_obj, cache):
            groups_load(user_obj)
        permissions: set[str] = getattr(user_obj, cache)
        return permissions

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        permissions = self._permissions_loaded(user_obj, obj, USER_PERMISSIONS_CACHE)
        if permissions is None:
            return super().get_user_permissions(user_obj, obj)
        return permissions

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        permissions = self._permissions_loaded(user_obj, obj, GROUP_PERMISSIONS_CACHE)
        if permissions is None:
            return super().get_group_permissions(user_obj, obj)
        return permissions
