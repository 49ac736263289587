"""What partner systems send the hub: each BaRS message once (interop/bars.py)."""

from __future__ import annotations

from django.db import models


class InboundMessage(models.Model):
    """A message a partner posted to `$process-message`, and the hub's answer to it. The same
    message again gets that answer; another message under the same id is refused (409)."""

    partner = models.ForeignKey(
        "accounts.PartnerSystem", on_delete=models.PROTECT, related_name="+"
    )
    # The request's X-Request-ID, else the Bundle's id.
    message_key = models.CharField(max_length=64)
    # SHA-256 of the body as sent: tells a repeat from another message under the same id.
    digest = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    event = models.CharField(max_length=8)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "message_key"], name="inbound_message_once_per_partner"
            )
        ]
        # The same message under another request id is found by its digest.
        indexes = [models.Index(fields=["partner", "digest"], name="inbound_message_digest")]

    def __str__(self) -> str:
        return f"{self.message_key} ({self.status_code})"
