"""Two-factor authentication (django-otp, TOTP): enrolment, verification and the system admin's
reset of a lost authenticator.

The rules (docs/security.md, "Two-factor authentication cannot be replaced with a password"):
a first authenticator may be enrolled by an account that has none; replacing it needs a session
already verified with it; a lost one is reset by a system admin, never by its owner with only a
password. Every enrolment, removal and reset is written to the access log.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp import devices_for_user, user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from spoc.accounts.devices import VerifiedDevice
from spoc.accounts.models import User
from spoc.accounts.services import user_credentials_revoke
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record

DEVICE_NAME = "Authenticator app"


class MfaChangeRefused(Exception):
    """The user already has an authenticator and this session was not verified with it; the
    message is safe to show."""


def _may_change_devices(*, user: User, verified_device: Device | VerifiedDevice | None) -> bool:
    """An account without a confirmed device may enrol one; otherwise only a session verified
    with one of the user's current confirmed devices may change them."""
    current = {device.persistent_id for device in devices_for_user(user, confirmed=True)}
    if not current:
        return True
    return verified_device is not None and verified_device.persistent_id in current


def _check_may_change(*, user: User, verified_device: Device | VerifiedDevice | None) -> None:
    if not _may_change_devices(user=user, verified_device=verified_device):
        raise MfaChangeRefused(
            "Enter a code from your current authenticator first. If you have lost it, ask a "
            "system administrator to reset your two-factor authentication."
        )


def _devices_locked(*, user: User) -> None:
    """Every device of ``user`` locked, in one order, before any is written in this transaction:
    each write of a device then locks the user's row (spoc/accounts/devices.py), so a
    confirmation, a reset and a code check of one user's devices wait for each other in turn
    instead of each holding a row the other needs."""
    list(TOTPDevice.objects.select_for_update().filter(user=user).order_by("pk").values("pk"))


def totp_device_pending(
    *, user: User, verified_device: Device | VerifiedDevice | None, pending_id: int | None
) -> TOTPDevice:
    """The unconfirmed device of this enrolment: `pending_id` (kept in the session that started
    it, so reloading the page shows the same secret) or a new one. A pending device is never
    shared between sessions: starting set-up removes the user's other unconfirmed devices, whose
    secret another session may have read.

    Raises MfaChangeRefused when the user has a confirmed device and `verified_device` is not
    one of them."""
    _check_may_change(user=user, verified_device=verified_device)
    if pending_id is not None:
        device = TOTPDevice.objects.filter(user=user, confirmed=False, pk=pending_id).first()
        if device is not None:
            return device
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def totp_device_pending_get(*, user: User, pending_id: int | None) -> TOTPDevice | None:
    """The session's unconfirmed device, if set-up was started in this session."""
    if pending_id is None:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=False, pk=pending_id).first()


def totp_qr_svg(*, device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@transaction.atomic
def totp_confirm(
    *,
    user: User,
    token: str,
    verified_device: Device | VerifiedDevice | None,
    pending_id: int | None,
    request: HttpRequest | None = None,
) -> TOTPDevice | None:
    """Confirm this session's pending device with a code from the app; returns it, or None if
    the code is wrong or set-up was not started in this session. Earlier confirmed devices are
    removed (one authenticator per user), each removal and the enrolment written to the access
    log.

    Raises MfaChangeRefused when the user has a confirmed device and `verified_device` is not
    one of them (checked again here: a device may have been confirmed since set-up started)."""
    _devices_locked(user=user)
    _check_may_change(user=user, verified_device=verified_device)
    device = totp_device_pending_get(user=user, pending_id=pending_id)
    if device is None or not device.verify_token(token):
        return None
    replaced = list(TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk))
    for old in replaced:
        access_log_record(
            action=AccessLog.Action.MFA_REMOVE,
            user=user,
            request=request,
            object_type="user",
            object_id=user.pk,
            reason="Replaced by a new authenticator",
            detail={"device": old.persistent_id},
        )
        old.delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    access_log_record(
        action=AccessLog.Action.MFA_ENROL,
        user=user,
        request=request,
        object_type="user",
        object_id=user.pk,
        detail={"device": device.persistent_id, "replaced": len(replaced)},
    )
    return device


@transaction.atomic
def totp_verify(*, user: User, token: str) -> Device | None:
    """The confirmed device of `user` that accepts `token`, or None. The user's devices are
    locked until the check's counters are saved (``_devices_locked``): a reset or a replacement
    that removes one meanwhile waits, instead of the check's save writing the removed device
    back, and two requests cannot both pass with one code."""
    _devices_locked(user=user)
    for device in devices_for_user(user, confirmed=True):
        if device.verify_token(token):
            return device
    return None


@transaction.atomic
def mfa_reset(*, user: User, by: User, reason: str, request: HttpRequest | None = None) -> int:
    """A system admin resets a lost authenticator: every device of `user` is removed, the user
    must enrol again at next sign-in (mfa_enrolment_required), and all their sessions and API
    tokens end (user_credentials_revoke). Written to the access log with the reason; returns how
    many devices were removed. Permission checks are the caller's (accounts.manage_users)."""
    reason = reason.strip()
    if not reason:
        raise ValueError("A reason is required to reset two-factor authentication.")
    _devices_locked(user=user)
    devices, _ = TOTPDevice.objects.filter(user=user).delete()
    access_log_record(
        action=AccessLog.Action.MFA_RESET,
        user=by,
        request=request,
        object_type="user",
        object_id=user.pk,
        reason=reason,
        detail={"devices": devices, "subject": user.get_username()},
    )
    user_credentials_revoke(
        user=user, reason=f"Two-factor authentication reset: {reason}", by=by, request=request
    )
    return devices


def mfa_enrolment_required(*, user: User) -> bool:
    """Whether `user` must have a confirmed device before anything else: always where
    MFA_REQUIRED (production), otherwise when their last two-factor change in the access log is
    a reset by a system admin (so a reset user enrols again at next sign-in even where MFA is
    optional). The access log is append-only, so the mark cannot be removed but by enrolling."""
    if settings.MFA_REQUIRED:
        return True
    if user_has_device(user, confirmed=True):
        return False
    last = (
        AccessLog.objects.filter(
            object_type="user",
            object_id=str(user.pk),
            action__in=[AccessLog.Action.MFA_RESET, AccessLog.Action.MFA_ENROL],
        )
        .order_by("-at", "-id")
        .values_list("action", flat=True)
        .first()
    )
    return last == AccessLog.Action.MFA_RESET
