"""Start-up checks: a delivery backend that cannot be imported stops the worker and the server, loudly."""

from __future__ import annotations

from collections.abc import Sequence

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string


@checks.register()
def delivery_backend_imports(app_configs: Sequence[AppConfig] | None = None, **kwargs: object) -> list[checks.Error]:
    try:
        import_string(settings.OUTBOX_DELIVERY_BACKEND)
    except ImportError as error:
        return [checks.Error(f"EMAIL_BACKEND cannot be imported: {error}", id="outbox.E001")]
    return []
