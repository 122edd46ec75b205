"""`manage.py invite_therapists (--npi NPI ... | --all-unclaimed)`: email imported therapists a link to claim
their profile (roster.invitations, as the admin action does)."""

from __future__ import annotations

import argparse

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from directory.models import Therapist
from roster import invitations


class Command(BaseCommand):
    help = "Email invitations to claim imported profiles; claimed ones and those without email are skipped."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        chosen = parser.add_mutually_exclusive_group(required=True)
        chosen.add_argument("--npi", nargs="+", metavar="NPI", help="the therapists to invite, by NPI")
        chosen.add_argument(
            "--all-unclaimed", action="store_true", help="every therapist without an account who has an email address"
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["npi"]:
            therapists = Therapist.objects.filter(npi__in=options["npi"])
            unknown = sorted(set(options["npi"]) - set(therapists.values_list("npi", flat=True)))
            if unknown:
                raise CommandError(f"No therapist has NPI {', '.join(unknown)}; nothing was sent.")
        else:
            therapists = Therapist.objects.filter(user=None).exclude(email="")
        counts = invitations.send_invitations(therapists=therapists.order_by("pk").iterator(), now=timezone.now())
        self.stdout.write(
            f"Sent {counts.sent} invitation(s); skipped {counts.without_email} without an email address "
            f"and {counts.claimed} already claimed."
        )
