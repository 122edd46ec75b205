"""Expire offers nobody answered in time, and move their referrals on. Cron-able (e.g. hourly)."""

from django.core.management.base import BaseCommand, CommandParser

from matching.services import expire_stale_offers


class Command(BaseCommand):
    help = "Expire unanswered offers; re-offer to the next candidate or mark the referral expired."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None, help="Days without an answer (default: OFFER_EXPIRY_DAYS)"
        )

    def handle(self, *args: object, **options: object) -> None:
        summary = expire_stale_offers(days=options["days"])
        self.stdout.write(", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in summary.items()))
