"""Offer a fictional referral from a demo referrer to a demo therapist (for `make fuzz`); adds one each run."""

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser

from directory.models import Therapist
from matching.demo import offer_demo_referral


class Command(BaseCommand):
    help = "Create a demo referral as --referrer and offer it to the profile of --therapist."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--referrer", default="referrer1", help="Username of a referrer (default referrer1)")
        parser.add_argument("--therapist", default="therapist1", help="Username of a therapist (default therapist1)")

    def handle(self, *args: object, **options: object) -> None:
        offer = offer_demo_referral(
            referrer=User.objects.get(username=options["referrer"]),
            therapist=Therapist.objects.get(user__username=options["therapist"]),
        )
        self.stdout.write(f"Offer {offer.pk}: referral {offer.referral_id} to {options['therapist']}.")
