"""Signal receivers: each hands the event to a service, which holds the rule."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from accounts import services

# A save that names its fields and none of these cannot change what a token rests on.
CREDENTIAL_FIELDS = frozenset({"password", "is_active"})


def revoke_tokens_on_credential_change(
    sender: type[AbstractBaseUser], instance: AbstractBaseUser, update_fields: frozenset[str] | None, **kwargs: object
) -> None:
    """pre_save of the user model: every save passes here, whichever page, form or command made it.

    Skips new users and saves such as sign-in's `last_login` update, so those cost no query.
    """
    if instance.pk is None or (update_fields is not None and not CREDENTIAL_FIELDS & update_fields):
        return
    services.revoke_tokens_if_credentials_change(user=instance)
