from __future__ import annotations

import sys
import warnings
from typing import TYPE_CHECKING, TextIO

from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.db.backends.signals import connection_created
from django.db.models.signals import post_delete, post_migrate, post_save

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class DirectoryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "directory"

    def ready(self) -> None:
        from directory.vocabularies import forget_reference_rows

        # Search validates slugs against a per-process copy of the reference tables.
        for model_name in ("Insurer", "FocusArea", "Concern", "Language"):
            model = self.get_model(model_name)
            post_save.connect(forget_reference_rows, sender=model, dispatch_uid=f"forget-{model_name}")
            post_delete.connect(forget_reference_rows, sender=model, dispatch_uid=f"forget-{model_name}-delete")

        # Pillow's own guard against decompression bombs agrees with the photo rules, and its warning
        # (past the limit, below twice it) is an error, so decoding never goes on after it.
        from PIL import Image

        from directory.photos import MAX_PIXELS

        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

        # PostgreSQL keeps one generic plan for the search's prepared statements (directory.search.statements).
        from directory.search.statements import plan_generically

        connection_created.connect(plan_generically, dispatch_uid="search-plans-generically")

        # A database migrated from before the search index gets its entries built once; cards of an older
        # shape (fields added or removed by a deploy) are named, for `manage.py refresh_listings`.
        post_migrate.connect(index_unindexed_therapists, sender=self, dispatch_uid="index-unindexed-therapists")
        # The rate-limit counters' table when CACHES names the database cache (no CACHE_URL), so a plain
        # `migrate` is enough, also for a database first migrated while CACHE_URL named Redis.
        post_migrate.connect(create_cache_table, sender=self, dispatch_uid="create-cache-table")

        # However a deactivated user is saved (the admin's "Active" box, a script), a therapist's offers follow;
        # an UPDATE that sends no signal is caught by `expire_offers` (matching.services.withdraw_unanswerable_offers).
        post_save.connect(account_saved, sender=get_user_model(), dispatch_uid="therapist-account-deactivated")


def index_unindexed_therapists(using: str = "default", stdout: TextIO | None = None, **_: object) -> None:
    from directory import search

    search.index_unindexed(using)
    if search.cards_are_stale(using):
        (stdout or sys.stdout).write(STALE_CARDS_MESSAGE)


STALE_CARDS_MESSAGE = (
    "The stored listing cards have an older set of fields than this code: the search API shows them until "
    "`python manage.py refresh_listings` rebuilds them.\n"
)


def account_saved(
    instance: AbstractBaseUser, raw: bool = False, update_fields: frozenset[str] | None = None, **_: object
) -> None:
    if raw or instance.is_active or (update_fields is not None and "is_active" not in update_fields):
        return
    from directory import profiles

    profiles.account_deactivated(user=instance)


def create_cache_table(using: str = "default", verbosity: int = 1, **_: object) -> None:
    from django.core.management import call_command

    # Idempotent: creates only the database caches' tables that do not exist yet. One level quieter
    # than migrate, which would otherwise print "already exists" at every run.
    call_command("createcachetable", database=using, verbosity=max(verbosity - 1, 0))
