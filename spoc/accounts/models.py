from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

# What a text message can reach: a UK mobile, +44 7 and nine more digits (GOV.UK Notify's rule
# for UK numbers; Ofcom's drama range 07700 900000-900999 included, as the demo uses it).
UK_MOBILE = re.compile(r"\+447\d{9}")


def uk_mobile_normalised(text: str) -> str:
    """``text`` (``07700 900123``, ``+44 7700 900123``, ``(0044) 7700-900123``) as E.164
    (``+447700900123``); "" for "". ValidationError for anything that is not a UK mobile."""
    digits = re.sub(r"[\s()\-.]", "", text or "")
    if not digits:
        return ""
    if digits.startswith("+"):
        digits = digits[1:]
    if not digits.isdigit():
        raise ValidationError("Enter a UK mobile number using digits only, like 07700 900123.")
    for prefix in ("0044", "44", "0"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    number = f"+44{digits}"
    if not UK_MOBILE.fullmatch(number):
        raise ValidationError("Enter a UK mobile number, like 07700 900123.")
    return number


def uk_mobile_required(value: str) -> None:
    uk_mobile_normalised(value)


# The user's columns that end what was kept for them when raised (below).
EPOCHS = frozenset({"credentials_epoch", "teams_epoch", "devices_epoch"})


class User(AbstractUser):
    """A member of staff. Roles are groups (spoc.accounts.roles); organisation and team
    memberships live in the directory (services.models)."""

    is_clinician = models.BooleanField(
        default=False, help_text="A registered clinician (nurse, doctor, allied professional)."
    )
    # Part of the session hash: raising it ends every session of the user at their next request
    # (role change, MFA reset, deactivation: spoc.accounts.services.user_credentials_revoke).
    credentials_epoch = models.PositiveIntegerField(default=0, editable=False)
    # Raised in the same transaction as every change of the user's team memberships (and of a
    # team they are in): what a request keeps of them between requests is named by it, so the
    # next request of any process or node reads them afresh (services.selectors, "Team
    # memberships kept" in docs/security.md). Not part of the session hash.
    teams_epoch = models.PositiveIntegerField(default=0, editable=False)
    # Raised in the same transaction as every write of one of the user's authenticators: what a
    # request keeps of their confirmed devices between requests is named by it
    # (spoc/accounts/devices.py). Not part of the session hash.
    devices_epoch = models.PositiveIntegerField(default=0, editable=False)
    # Where an urgent alert reaches a team lead who is not on shift (docs/operations.md, "Urgent
    # alerts and acknowledgement"); whoever is on shift is reached at the rota's number. Stored
    # in E.164 (+447700900123).
    work_mobile = models.CharField(
        max_length=20,
        blank=True,
        validators=[uk_mobile_required],
        help_text="A UK mobile for urgent alerts when not on shift (team leads).",
    )
    # The phone system's extension the user answers on: its "answered" events pop the call
    # screen in this user's browser (docs/telephony.md, "The screen pop").
    phone_extension = models.CharField(
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{2,10}$", "An extension is 2 to 10 digits.")],
    )

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone_extension"],
                condition=~models.Q(phone_extension=""),
                name="user_phone_extension_unique",
            ),
        ]
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

    def save(self, **kwargs: Any) -> None:
        """Saved without its epochs, which only their own updates change (``F() + 1`` in the
        writing transaction: spoc.accounts.services, spoc.accounts.devices, services.services): a
        user read before one of them and saved after it (two admins at once) must not put the
        old epoch back, which would make sessions it ended valid again, or a team or an
        authenticator it took away kept again."""
        if not self._state.adding and kwargs.get("update_fields") is None:
            # As Django saves a row read in part: only the columns it read.
            left_out = EPOCHS | self.get_deferred_fields()
            kwargs["update_fields"] = [
                field.attname
                for field in self._meta.concrete_fields
                if not field.primary_key and field.attname not in left_out
            ]
        super().save(**kwargs)

    def get_session_auth_hash(self) -> str:
        """Django's hash of the password, salted with the credentials epoch, so that sessions
        end on a password change and on any revocation."""
        from django.utils.crypto import salted_hmac

        key_salt = "spoc.accounts.models.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.credentials_epoch}", algorithm="sha256"
        ).hexdigest()

    def clean(self) -> None:
        super().clean()
        self.work_mobile = uk_mobile_normalised(self.work_mobile)

    def display_name(self) -> str:
        """NHS common user interface: FAMILY, Given."""
        if self.last_name:
            return f"{self.last_name.upper()}, {self.first_name}".rstrip(", ")
        return self.username


def expires_after_creation(prefix: str) -> models.CheckConstraint:
    """A token's database check: it expires after it was issued."""
    return models.CheckConstraint(
        condition=models.Q(expires_at__gt=models.F("created_at")),
        name=f"{prefix}_expires_after_creation",
    )


class ApiToken(models.Model):
    """An API token that expires (docs/design.md §9). Only a hash of the key is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # The browser session that asked for it, by the digest of its key
    # (spoc.accounts.sessions.key_digest); "" when none did. Signing that session out revokes it
    # (spoc.accounts.tokens.session_tokens_revoke).
    session_digest = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        constraints = [expires_after_creation("api_token")]

    def __str__(self) -> str:
        return (
            f"API token {self.pk} of {self.user.username}, expires {self.expires_at:%d-%b-%Y %H:%M}"
        )


class PartnerSystem(models.Model):
    """Another NHS system that talks to the hub (an NHS 111 provider, a GP practice system, a
    hospital): not a person. It authenticates with OAuth 2.0 client credentials
    (spoc/accounts/partners.py) and may do only what its scopes allow."""

    name = models.CharField(max_length=200)
    ods_code = models.CharField("ODS code", max_length=10)
    # Where the hub sends what it has to tell the partner (responses to the referrals it sent).
    endpoint = models.URLField(max_length=500, blank=True)
    client_id = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.ods_code})"


class PartnerSecret(models.Model):
    """One client secret of a partner (only its hash). Rotation adds a secret and the old one
    works until it is revoked, so the partner can change over without a gap."""

    partner = models.ForeignKey(PartnerSystem, on_delete=models.CASCADE, related_name="secrets")
    secret_hash = models.CharField(max_length=256)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        state = f"revoked {self.revoked_at:%d-%b-%Y %H:%M}" if self.revoked_at else "in use"
        return f"Secret {self.pk} of {self.partner.name}, {state}"


class PartnerToken(models.Model):
    """A bearer token issued to a partner for one of its secrets (only a hash of the key)."""

    partner = models.ForeignKey(PartnerSystem, on_delete=models.CASCADE, related_name="tokens")
    secret = models.ForeignKey(PartnerSecret, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [expires_after_creation("partner_token")]

    def __str__(self) -> str:
        return f"Token {self.pk} of {self.partner.name}, expires {self.expires_at:%d-%b-%Y %H:%M}"
