"""Load the reference data, the demo directory and the demo logins; safe to repeat."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from accounts.services import ensure_demo_accounts
from directory.demo import DEMO_ACCOUNT_PROFILES, make_npi
from directory.models import Therapist
from directory.services import load_directory
from directory.signals import demo_loaded

DEMO_PASSWORD = "ipt-demo-2026"


class Command(BaseCommand):
    help = "Load fixtures/reference.json, fixtures/demo_directory.json and the demo accounts (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-accounts", action="store_true", help="Skip the demo logins.")

    def handle(self, *args: object, **options: object) -> None:
        call_command("loaddata", "reference", verbosity=0)
        records = json.loads((Path(settings.BASE_DIR) / "fixtures" / "demo_directory.json").read_text())
        now = timezone.now()
        loaded = load_directory(records, now=now)
        self.stdout.write(f"Loaded {loaded} demo therapists.")
        demo_loaded.send(sender=Therapist, now=now)
        if not options["no_accounts"]:
            npis = {username: make_npi(number) for username, number in DEMO_ACCOUNT_PROFILES.items()}
            usernames = ensure_demo_accounts(password=DEMO_PASSWORD, therapist_npis=npis)
            self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}): {', '.join(usernames)}")
