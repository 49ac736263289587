from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper


class AccessLogAppendOnly(Exception):
    """The access log is append-only: rows are never changed or deleted by the app."""


class AccessLogQuerySet(models.QuerySet["AccessLog"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AccessLogAppendOnly("The access log cannot be edited.")

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise AccessLogAppendOnly("The access log cannot be edited.")


class AccessLog(models.Model):
    """Who did what to which record, when, from where and why (docs/design.md §10).

    `patient_id` is a plain integer, not a foreign key: the log sits below the patients app and
    must outlive any record it mentions. The database refuses UPDATE and DELETE (migration 0002),
    the app's database role may only SELECT and INSERT (spoc/core/dbroles.py), and `row_hash`
    chains each row to the one before (spoc/audit/chain.py), so that a change made by the owner
    or a superuser is found by `manage.py verify_access_log`.
    """

    class Action(models.TextChoices):
        VIEW = "VIEW", "View"
        SEARCH = "SEARCH", "Search"
        CREATE = "CREATE", "Create"
        UPDATE = "UPDATE", "Update"
        EXPORT = "EXPORT", "Export"
        LOGIN = "LOGIN", "Sign in"
        LOGOUT = "LOGOUT", "Sign out"
        LOGIN_FAILED = "LOGIN_FAILED", "Failed sign-in"
        BREAK_GLASS = "BREAK_GLASS", "Break glass"
        # A page or API list that showed patients: one row per view, with how many (detail).
        LIST = "LIST", "List of patients"
        MFA_ENROL = "MFA_ENROL", "Two-factor enrolment"
        MFA_RESET = "MFA_RESET", "Two-factor reset"
        MFA_REMOVE = "MFA_REMOVE", "Two-factor removal"
        ROLE_GRANT = "ROLE_GRANT", "Role granted"
        ROLE_REVOKE = "ROLE_REVOKE", "Role removed"
        CREDENTIALS_REVOKED = "CREDENTIALS_REVOKED", "Sessions and tokens revoked"

    at = models.DateTimeField(db_index=True)
    # No index of its own: the one on (user, at) serves every lookup by user (migration 0007).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # What was typed at a failed sign-in, or the username at the time.
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    # Break-glass rows wait for the auditor's review.
    flagged = models.BooleanField(default=False)
    # SHA-256 (hex) of the previous row's row_hash and this row's fields (spoc/audit/chain.py),
    # linked under the chain's lock: by the database's insert trigger on PostgreSQL (migration
    # 0005), by access_log_record on SQLite. The database default makes Django read it back
    # after the insert (RETURNING).
    row_hash = models.CharField(max_length=64, editable=False, db_default="")

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["patient_id", "at"], name="accesslog_patient_at"),
            models.Index(fields=["user", "at"], name="accesslog_user_at"),
            # The access-log page's filters (spoc/audit/selectors.py, access_log_list), each a
            # seek to the newest matching row at any size (docs/performance.md, "The biggest
            # tables"): the username as the filter compares it (iexact is UPPER() = UPPER()),
            # the action, and the flagged rows alone (a few in a million).
            models.Index(Upper("username"), F("at"), name="accesslog_username_at"),
            models.Index(fields=["action", "at"], name="accesslog_action_at"),
            models.Index(fields=["at"], condition=Q(flagged=True), name="accesslog_flagged_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.at:%d-%b-%Y %H:%M:%S} {self.username} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AccessLogAppendOnly("The access log cannot be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AccessLogAppendOnly("The access log cannot be edited.")


class AccessLogArchive(models.Model):
    """One month of the access log written to a compressed file and removed from the table
    (spoc/audit/archive.py; docs/security.md, "Old months of the access log are archived").

    The rows are those with ids ``first_id`` to ``last_id``: in id order, so the chain goes on
    from ``last_hash`` to the first row still in the table, and the file's own chain starts from
    ``previous_hash``. ``sha256`` is that of the compressed file as written.
    """

    month = models.DateField(unique=True, help_text="The first day of the month archived.")
    file_name = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    rows = models.BigIntegerField()
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    previous_hash = models.CharField(max_length=64)
    last_hash = models.CharField(max_length=64)
    archived_at = models.DateTimeField()

    class Meta:
        ordering = ["month"]

    def __str__(self) -> str:
        return f"{self.month:%b %Y}: {self.rows} rows in {self.file_name}"
