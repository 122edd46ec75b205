"""Delete Idempotency-Keys past IDEMPOTENCY_KEY_HOURS. Keyed writes purge them too; cron-able (e.g. daily)."""

from django.core.management.base import BaseCommand

from matching.idempotency import purge_expired


class Command(BaseCommand):
    help = "Delete Idempotency-Keys older than IDEMPOTENCY_KEY_HOURS."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(f"idempotency keys deleted: {purge_expired()}")
