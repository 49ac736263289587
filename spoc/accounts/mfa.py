"""TOTP enrolment and verification (django-otp)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from spoc.accounts.models import User


def totp_device_pending(*, user: User) -> TOTPDevice:
    """The user's unconfirmed device, created on first call, so reloading the enrolment page
    keeps the same secret."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def totp_qr_svg(*, device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def totp_confirm(*, user: User, token: str) -> TOTPDevice | None:
    """Confirm the pending device with a code from the app; returns it, or None if wrong.
    Earlier confirmed devices are removed: one authenticator per user."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token(token):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device


def totp_verify(*, user: User, token: str) -> TOTPDevice | None:
    for device in devices_for_user(user, confirmed=True):
        if device.verify_token(token):
            return device
    return None


def totp_reset(*, user: User) -> int:
    """System admins reset a lost authenticator; returns how many devices were removed."""
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    return deleted
