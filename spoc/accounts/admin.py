"""The Django admin, for system admins only (users, roles, memberships, lock-outs).

Nobody promotes themselves (docs/security.md): on their own account a system admin changes no
role, staff or active flag; superuser status and individual permissions are never set here (only
`createsuperuser` on the server); every role change goes through
`spoc.accounts.services.user_roles_set` (access-logged, sessions and tokens revoked);
deactivating a user or setting their password ends their sessions and tokens too. Roles themselves are code (spoc/accounts/roles.py): the
group pages are read only. Partner systems (spoc/accounts/partners.py) are registered here too.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from spoc.accounts.models import PartnerSystem, User
from spoc.accounts.partners import (
    Scope,
    partner_deactivate,
    partner_register,
    partner_secret_rotate,
    partner_secrets_revoke,
    partner_values,
)
from spoc.accounts.services import (
    RoleChangeRefused,
    user_credentials_revoke,
    user_deactivated,
    user_roles_set,
)
from spoc.core.admin import ReadOnlyAdminMixin
from spoc.core.forms import NhsFormMixin


def _system_admins_only(request: HttpRequest) -> bool:
    user: Any = request.user
    return bool(user.is_active and user.is_staff and user.has_perm("accounts.manage_users"))


# Django admin is for system admins only (users, roles, memberships, MFA resets).
admin.site.has_permission = _system_admins_only  # type: ignore[method-assign]

# Fields the admin never sets, for anyone: superuser status and per-user permissions.
NEVER_EDITABLE = ("is_superuser", "user_permissions")
# Fields nobody sets on their own account.
NOT_ON_ONESELF = ("is_active", "is_staff", "groups")


@admin.register(User)
class HubUserAdmin(UserAdmin):
    list_display = (
        "username",
        "last_name",
        "first_name",
        "is_clinician",
        "is_active",
        "last_login",
    )
    list_filter = ("is_clinician", "is_active", "groups")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            "Personal info",
            {"fields": ("first_name", "last_name", "email", "work_mobile", "phone_extension")},
        ),
        ("Roles", {"fields": ("is_active", "is_staff", "groups", "is_superuser", "two_factor")}),
        ("Clinical", {"fields": ("is_clinician",)}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    filter_horizontal = ("groups",)

    def _is_self(self, request: HttpRequest, obj: Any) -> bool:
        return obj is not None and obj.pk is not None and obj.pk == request.user.pk

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [*NEVER_EDITABLE, "two_factor", "last_login", "date_joined"]
        if self._is_self(request, obj):
            fields += NOT_ON_ONESELF
        return fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A superuser's account (password included) is not changed by someone who is not one:
        # setting their password would be promotion by the back door.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Refuse, plainly and before any form, a POST that tries to set what this admin never
        sets (a crafted form: the page does not offer these fields)."""
        if request.method == "POST":
            own = str(object_id) == str(request.user.pk)
            refused = [
                name
                for name in (*NEVER_EDITABLE, *(NOT_ON_ONESELF if own else ()))
                if name in request.POST
            ]
            if refused:
                message = (
                    "You cannot change your own roles, groups, permissions, staff, active or "
                    "superuser status: ask another system administrator."
                    if own
                    else "Superuser status and individual permissions are not set in the "
                    "admin: roles are given as groups."
                )
                return self._refused(request, message)
        try:
            return super().change_view(request, object_id, form_url, extra_context)
        except RoleChangeRefused as exc:
            return self._refused(request, str(exc))

    def _refused(self, request: HttpRequest, message: str) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Change refused",
            "message": message,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/accounts/refused.html", context, status=403)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_deactivated(
                user=obj,
                by=request.user,  # type: ignore[arg-type]
                reason="unticked in the admin",
                request=request,
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Groups are roles: they are set by the service (log rows, revocation), never by the form.
        roles = form.cleaned_data.pop("groups", None)
        super().save_related(request, form, formsets, change)
        if roles is not None:
            user_roles_set(
                user=form.instance,
                roles=[group.name for group in roles],
                by=request.user,  # type: ignore[arg-type]
                request=request,
            )

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Django's page, then the user's API tokens and other sessions end with the old password
        (a redirect means the new one was saved)."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, unquote(id))
            if user is not None:
                user_credentials_revoke(
                    user=user,
                    reason="Password set in the admin",
                    by=request.user,  # type: ignore[arg-type]
                    request=request,
                )
                if user.pk == request.user.pk:
                    update_session_auth_hash(request, user)
        return response

    @admin.display(description="Two-factor authentication")
    def two_factor(self, obj: User) -> str:
        if obj.pk is None:
            return "-"
        try:
            url = reverse("mfa-reset", kwargs={"user_id": obj.pk})
        except NoReverseMatch:
            return "Reset from the two-factor reset page (not installed on this server)."
        return format_html(
            '<a href="{}">Reset two-factor authentication (a reason is asked)</a>', url
        )


# Roles are set in spoc/accounts/roles.py and re-applied after every migrate: read only here, and
# group membership is changed from the user's page only (through user_roles_set).
admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(ReadOnlyAdminMixin, GroupAdmin):
    """The roles, listed and shown only."""


class PartnerSystemForm(NhsFormMixin, forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in Scope.ALL], widget=forms.CheckboxSelectMultiple
    )
    endpoint = forms.URLField(required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = PartnerSystem
        fields = ("name", "ods_code", "endpoint", "scopes")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            partner_values(
                name=data.get("name", ""),
                ods_code=data.get("ods_code", ""),
                endpoint=data.get("endpoint", ""),
                scopes=list(data.get("scopes", [])),
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        return data


@admin.register(PartnerSystem)
class PartnerSystemAdmin(admin.ModelAdmin):
    """Partner systems: registered here (the secret is shown once, in the message after saving),
    given a new secret, their old secrets revoked, or turned off; every step is access-logged."""

    form = PartnerSystemForm
    list_display = ("name", "ods_code", "client_id", "is_active", "created_at")
    readonly_fields = ("client_id", "is_active", "created_at")
    actions = ("issue_secret", "revoke_old_secrets", "deactivate")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _system_admins_only(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _system_admins_only(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _system_admins_only(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _system_admins_only(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the access log names partners by client id: deactivate instead

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*self.readonly_fields, "ods_code") if obj is not None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = partner_register(
            name=obj.name,
            ods_code=obj.ods_code,
            endpoint=obj.endpoint,
            scopes=list(form.cleaned_data["scopes"]),
            by=request.user,
        )
        obj.pk = issued.partner.pk
        messages.warning(
            request,
            f"Client id {issued.partner.client_id}, client secret {issued.client_secret}: "
            "copy the secret now, it is not shown again.",
        )

    @admin.action(description="Issue a new secret (the old ones keep working until revoked)")
    def issue_secret(self, request: HttpRequest, queryset: Any) -> None:
        for partner in queryset:
            secret = partner_secret_rotate(partner=partner, by=request.user)
            messages.warning(request, f"New secret for {partner.client_id}: {secret} (shown once).")

    @admin.action(description="Revoke every secret but the newest, and their tokens")
    def revoke_old_secrets(self, request: HttpRequest, queryset: Any) -> None:
        for partner in queryset:
            partner_secrets_revoke(partner=partner, keep_newest=True, by=request.user)

    @admin.action(description="Turn off: no new token, and its tokens stop working")
    def deactivate(self, request: HttpRequest, queryset: Any) -> None:
        for partner in queryset:
            partner_deactivate(partner=partner, by=request.user)
