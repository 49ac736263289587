from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A member of staff. Roles are groups (spoc.accounts.roles); organisation and team
    memberships live in the directory (services.models)."""

    is_clinician = models.BooleanField(
        default=False, help_text="A registered clinician (nurse, doctor, allied professional)."
    )
    # Part of the session hash: raising it ends every session of the user at their next request
    # (role change, MFA reset, deactivation: spoc.accounts.services.user_credentials_revoke).
    credentials_epoch = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        permissions = [
            ("record_cpr_decision", "Can record a CPR decision (senior clinicians only)"),
            ("take_calls", "Can take calls and triage"),
            ("work_team_queue", "Can work a team's queue"),
            ("lead_team", "Can lead a team (reassign, capacity)"),
            ("coordinate", "Can coordinate the SPOC fallback queue"),
            ("view_dashboards", "Can view dashboards"),
            ("manage_directory", "Can manage the service directory"),
            ("audit_access", "Can read the access log"),
            ("manage_users", "Can manage users and roles"),
            # Reading and writing patients (docs/security.md, "Who may read and write what").
            ("break_glass", "Can open a patient outside their care by break-glass, read only"),
            ("write_clinical", "Can write the clinical records of patients in their care"),
        ]

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username

    def get_session_auth_hash(self) -> str:
        """Django's hash of the password, salted with the credentials epoch, so that sessions
        end on a password change and on any revocation."""
        from django.utils.crypto import salted_hmac

        key_salt = "spoc.accounts.models.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.credentials_epoch}", algorithm="sha256"
        ).hexdigest()

    def display_name(self) -> str:
        """NHS common user interface: FAMILY, Given."""
        if self.last_name:
            return f"{self.last_name.upper()}, {self.first_name}".rstrip(", ")
        return self.username


class ApiToken(models.Model):
    """An API token that expires (docs/design.md §9). Only a hash of the key is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="api_token_expires_after_creation",
            )
        ]

    def __str__(self) -> str:
        return f"API token {self.pk} of {self.user.username}, expires {self.expires_at:%d-%b-%Y %H:%M}"
