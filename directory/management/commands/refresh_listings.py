"""Rebuild every therapist's listing card (after a deploy that changes its shape, or a bulk edit)."""

from django.core.management.base import BaseCommand

from directory.models import Therapist
from directory.services import refresh_listing


class Command(BaseCommand):
    help = "Rebuild the stored search-result card of every therapist."

    def handle(self, *args: object, **options: object) -> None:
        refreshed = refresh_listing(Therapist.objects.values_list("pk", flat=True))
        self.stdout.write(f"Refreshed {len(refreshed)} listing cards.")
