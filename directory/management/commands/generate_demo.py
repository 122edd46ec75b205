"""Write the demo directory's records as JSON (to rebuild fixtures/demo_directory.json)."""

import json

from django.core.management.base import BaseCommand, CommandParser

from directory.demo import demo_directory


class Command(BaseCommand):
    help = "Print the deterministic demo directory as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=336)

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(json.dumps(demo_directory(options["count"]), indent=1))
