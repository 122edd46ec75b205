from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_save

        from accounts import receivers

        # pre_save, not the password forms: set_password() sends no signal, and the admin,
        # `manage.py changepassword` and the reset page each save the user their own way.
        pre_save.connect(
            receivers.revoke_tokens_on_credential_change,
            sender=get_user_model(),
            dispatch_uid="accounts.revoke_tokens_on_credential_change",
        )
