"""Rebuild what search reads of every therapist: listing cards and search entries (after a deploy that
changes their shape, a bulk edit, or `loaddata`)."""

from django.core.management.base import BaseCommand

from directory import search
from directory.models import Therapist


class Command(BaseCommand):
    help = "Rebuild the stored search-result cards and search entries of every therapist."

    def handle(self, *args: object, **options: object) -> None:
        refreshed = search.refresh(Therapist.objects.values_list("pk", flat=True))
        self.stdout.write(f"Refreshed the listing cards and search entries of {len(refreshed)} therapists.")
