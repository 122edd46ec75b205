from django.apps import AppConfig


class OutboxConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "outbox"
    verbose_name = "Outgoing mail"

    def ready(self) -> None:
        from outbox import checks  # noqa: F401  (registers the start-up check)
