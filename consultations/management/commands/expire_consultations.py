"""Run every few minutes (cron, or a scheduler): expire unanswered requests, delete what retention ends."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from consultations import services


class Command(BaseCommand):
    help = "Expire consultation requests past their reply-by time; delete unconfirmed and retained-out requests."

    def handle(self, *args: object, **options: object) -> None:
        summary = {**services.expire_unanswered(), **services.purge()}
        self.stdout.write(", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in summary.items()))
