"""Run every few minutes (cron, or a scheduler): expire unanswered requests, delete what retention ends,
and measure again how therapists answer as the 180-day window slides."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from consultations import measures, services


class Command(BaseCommand):
    help = (
        "Expire consultation requests past their reply-by time; delete unconfirmed and retained-out requests; "
        "measure again how each therapist answers requests."
    )

    def handle(self, *args: object, **options: object) -> None:
        summary = {**services.expire_unanswered(), **services.purge()}
        summary["measures_changed"] = len(measures.refresh_all_measures())
        self.stdout.write(", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in summary.items()))
