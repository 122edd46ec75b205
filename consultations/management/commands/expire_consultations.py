"""Run every few minutes (cron, or a scheduler): expire unanswered requests, silence therapists who let them
expire again and again and remind those still silenced after a week, delete what retention ends."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from consultations import services, silence


class Command(BaseCommand):
    help = (
        "Expire consultation requests past their reply-by time, silencing therapists who let too many expire "
        "in a row; remind those still silenced after a week; delete unconfirmed and retained-out requests."
    )

    def handle(self, *args: object, **options: object) -> None:
        summary = {
            **services.expire_unanswered(),
            "silence_reminders": silence.send_reminders(now=timezone.now()),
            **services.purge(),
        }
        self.stdout.write(", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in summary.items()))
