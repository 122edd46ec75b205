"""Email therapists whose availability is about to stop counting (queued for the worker); run daily from cron."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from directory.profiles import send_availability_reminders


class Command(BaseCommand):
    help = "Remind accepting therapists to confirm their availability before it expires (once per expiry)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days-before",
            type=int,
            default=settings.AVAILABILITY_REMINDER_DAYS,
            help="Remind this many days before the confirmation expires (default: AVAILABILITY_REMINDER_DAYS)",
        )

    def handle(self, *args: object, days_before: int, **options: object) -> None:
        sent = send_availability_reminders(now=timezone.now(), days_before=days_before)
        self.stdout.write(f"Queued {sent} availability reminder(s) for delivery.")
