from django.apps import AppConfig, apps
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_save


class AccountsConfig(AppConfig):
    name = "spoc.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django_otp.models import Device

        from spoc.accounts import schema  # noqa: F401  (registers the OpenAPI extension)
        from spoc.accounts.devices import device_moving, devices_epoch_raise
        from spoc.accounts.middleware import activity_record_at_sign_in
        from spoc.accounts.models import User
        from spoc.accounts.roles import roles_forget, roles_sync_after_migrate

        # Permissions do not exist inside a migration on a fresh database, and a transactional
        # test's flush removes rows that migrations made: (re)create the roles after every
        # migrate and flush instead.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="spoc.accounts.roles")
        user_logged_in.connect(activity_record_at_sign_in, dispatch_uid="spoc.accounts.idle")
        for through in (User.groups.through, User.user_permissions.through):
            m2m_changed.connect(roles_forget, sender=through, dispatch_uid=f"roles-{through}")
        # Every kind of authenticator installed (spoc/accounts/devices.py).
        for model in apps.get_models():
            if issubclass(model, Device):
                uid = f"devices-{model._meta.label}"
                post_save.connect(devices_epoch_raise, sender=model, dispatch_uid=uid)
                post_delete.connect(devices_epoch_raise, sender=model, dispatch_uid=uid)
                pre_save.connect(device_moving, sender=model, dispatch_uid=uid)
