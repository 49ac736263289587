"""Roles are groups; this module is the one place that says what each role may do.

`roles_sync()` is idempotent: it creates missing groups and sets each group's permissions to
exactly the list below, so running it after every migrate (and after a test flush) is safe.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import models, transaction
from django.db.models import Value

from spoc.core.pauses import RestingCache

logger = logging.getLogger(__name__)


class Role(models.TextChoices):
    CALL_HANDLER = "Call handler"
    SPECIALIST_NURSE = "Specialist nurse"
    TEAM_LEAD = "Team lead"
    SPOC_COORDINATOR = "SPOC coordinator"
    MANAGER = "Manager"
    DIRECTORY_ADMIN = "Directory admin"
    AUDITOR = "Auditor"
    SYSTEM_ADMIN = "System admin"


# Reading and writing patients. Break-glass opens a record outside the user's care for reading
# only (logged, flagged for the auditor); writing needs WRITE_CLINICAL and a patient in the
# user's care without break-glass (referrals.selectors.patients_writable_by). The table in
# docs/security.md ("Who may read and write what") says the same; a test keeps them in step.
BREAK_GLASS = "accounts.break_glass"
WRITE_CLINICAL = "accounts.write_clinical"
# The roles that care for patients directly: only they break glass or write clinical records.
DIRECT_CARE = [BREAK_GLASS, WRITE_CLINICAL]

# app_label.codename. Later capabilities add their permissions here.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.CALL_HANDLER: ["accounts.take_calls", *DIRECT_CARE],
    Role.SPECIALIST_NURSE: ["accounts.work_team_queue", *DIRECT_CARE],
    Role.TEAM_LEAD: ["accounts.work_team_queue", "accounts.lead_team", *DIRECT_CARE],
    # Coordinators also work their own (fallback) team queue.
    Role.SPOC_COORDINATOR: [
        "accounts.take_calls",
        "accounts.coordinate",
        "accounts.work_team_queue",
        *DIRECT_CARE,
    ],
    Role.MANAGER: ["accounts.view_dashboards"],
    Role.DIRECTORY_ADMIN: ["accounts.manage_directory"],
    Role.AUDITOR: ["accounts.audit_access"],
    Role.SYSTEM_ADMIN: [
        "accounts.manage_users",
        # Clear a lock-out before its cool-off ends.
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "auth.view_group",
        # A lost authenticator is reset on the hub's own page, with a reason (never a bare delete).
        "otp_totp.view_totpdevice",
        "services.view_organisationmembership",
        "services.add_organisationmembership",
        "services.change_organisationmembership",
        "services.view_teammembership",
        "services.add_teammembership",
        "services.change_teammembership",
        "services.delete_teammembership",
    ],
}


def roles_sync() -> None:
    for role, perm_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for name in perm_names:
            app_label, codename = name.split(".")
            perms.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(perms)


def roles_sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    """Run once per migrate (and flush), after the last app's permissions exist. Django sends
    post_migrate once for each installed app that has models, in INSTALLED_APPS's order, so the
    last of those is the sender to wait for (an app without models is never one)."""
    with_models = [config for config in django_apps.get_app_configs() if config.models_module]
    if getattr(sender, "label", None) != with_models[-1].label:
        return
    # A migrate to a named migration leaves some models, and so their permissions, to a later
    # migrate: the roles are made by the one that completes them.
    needed = {tuple(name.split(".")) for names in ROLE_PERMISSIONS.values() for name in names}
    existing = set(
        Permission.objects.filter(
            content_type__app_label__in={app_label for app_label, _ in needed}
        ).values_list("content_type__app_label", "codename")
    )
    if needed <= existing:
        roles_sync()


# Where a user object keeps its groups' names once read, beside ModelBackend's own caches of their
# permissions ("_group_perm_cache") and of the permissions given to the user directly
# ("_user_perm_cache"): all for as long as the object lives, which for ``request.user`` is one
# request.
GROUP_NAMES_CACHE = "_group_names_cache"
GROUP_PERMISSIONS_CACHE = "_group_perm_cache"
USER_PERMISSIONS_CACHE = "_user_perm_cache"


# Where a user's roles are kept between requests (ROLES_KEPT_SECONDS): the default cache, named by
# the roles' permissions in this code, so that a release that changes them reads them afresh.
ROLES_FORMAT = (
    "roles-"
    + hashlib.sha256(json.dumps(ROLE_PERMISSIONS, sort_keys=True).encode()).hexdigest()[:12]
)
ROLES_CACHE = RestingCache(
    "default",
    logger=logger,
    message="Roles cache unreachable: roles read from the database for %s s.",
)
Roles = tuple[frozenset[str], frozenset[str], frozenset[str]]


def _roles_key(user: Any) -> str:
    """The cache key of ``user``'s roles: their credentials epoch in it, which every change of
    their roles raises (spoc.accounts.services.user_roles_set), so a change is read at once by
    every process and node, never what was kept before it."""
    return f"{ROLES_FORMAT}-{user.pk}-{user.credentials_epoch}"


def _roles_read(user: Any) -> Roles:
    """(group names, their permissions, the permissions given to the user directly): one query."""
    names: set[str] = set()
    of_groups: set[str] = set()
    of_user: set[str] = set()
    groups = (
        Group.objects.filter(user=user)
        .order_by()
        .values_list("name", "permissions__content_type__app_label", "permissions__codename")
    )
    # A direct permission has no group: its row's name is NULL, which no group's can be.
    direct = (
        Permission.objects.filter(user=user)
        .order_by()
        .values_list(
            Value(None, output_field=models.CharField()), "content_type__app_label", "codename"
        )
    )
    for name, app_label, codename in groups.union(direct, all=True):
        if name is None:
            of_user.add(f"{app_label}.{codename}")
            continue
        names.add(name)
        if codename is not None:
            of_groups.add(f"{app_label}.{codename}")
    return frozenset(names), frozenset(of_groups), frozenset(of_user)


def roles_forget(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    """A user's groups or direct permissions changed other than through user_roles_set (which
    raises their credentials epoch): what is kept of their roles is dropped (Django's
    ``m2m_changed`` of ``User.groups`` and ``User.user_permissions``, from either side)."""
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:
        users = [instance]
    elif action == "pre_clear":
        users = list(instance.user_set.all())
    else:
        users = list(get_user_model().objects.filter(pk__in=pk_set or ()))
    keys = [_roles_key(user) for user in users]

    def forget() -> None:
        ROLES_CACHE.call(lambda cache: cache.delete_many(keys))

    forget()
    # Again once the change is committed: a request that read the roles before then, from the
    # database as it was, may have kept them since.
    transaction.on_commit(forget)


def groups_load(user: Any) -> set[str]:
    """The names of ``user``'s groups, read in one query with their permissions and the
    permissions given to the user directly, and kept on the object, the permissions where
    ModelBackend looks for them (spoc.accounts.backends.RoleBackend): a page asks both who the
    user is (its navigation, its roles) and what they may do, and each used to cost a query of
    its own. Between requests they are kept in the cache for ROLES_KEPT_SECONDS (``_roles_key``);
    a cache that fails is left alone for a while, and the database answers."""
    kept: set[str] | None = getattr(user, GROUP_NAMES_CACHE, None)
    if kept is not None:
        return kept
    seconds = settings.ROLES_KEPT_SECONDS
    roles = ROLES_CACHE.kept_or_read(
        _roles_key(user) if seconds else "", read=lambda: _roles_read(user), timeout=seconds
    )
    names, of_groups, of_user = (set(part) for part in roles)
    setattr(user, GROUP_NAMES_CACHE, names)
    # A superuser's permissions are every permission: ModelBackend reads those itself.
    if not user.is_superuser:
        setattr(user, GROUP_PERMISSIONS_CACHE, of_groups)
        setattr(user, USER_PERMISSIONS_CACHE, of_user)
    return names


def roles_of(user: Any) -> list[str]:
    """The user's role names, in the order of Role."""
    if not user.is_authenticated:
        return []
    names = groups_load(user)
    return [role.value for role in Role if role.value in names]


def may_break_glass(user: Any) -> bool:
    """Whether ``user`` may open a patient outside their care (read only, logged)."""
    return bool(
        getattr(user, "is_authenticated", False) and user.is_active and user.has_perm(BREAK_GLASS)
    )


def may_write_clinical(user: Any) -> bool:
    """Whether ``user``'s role writes clinical records at all (which patients: the selector's)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.has_perm(WRITE_CLINICAL)
    )
