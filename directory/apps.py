from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


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

        # A database migrated from before the search index gets its entries built once.
        post_migrate.connect(index_unindexed_therapists, sender=self, dispatch_uid="index-unindexed-therapists")


def index_unindexed_therapists(using: str = "default", **_: object) -> None:
    from directory import search

    search.index_unindexed(using)
