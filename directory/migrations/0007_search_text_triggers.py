"""SQLite: the free text table follows the PROFILE search entries through triggers.

It was kept by hand (`search.store_texts`), so a therapist deleted outright,
or entries loaded from a fixture, left it out of step; it can now also count
the therapists a text matches on its own (see `SearchEntryQuerySet.count_matching_text`).
"""

from django.db import migrations

TRIGGERS = {
    "search_text_insert": """
        CREATE TRIGGER search_text_insert AFTER INSERT ON directory_searchentry WHEN new.kind = 0
        BEGIN INSERT INTO directory_searchtext (rowid, text) VALUES (new.therapist_id, new.text); END
    """,
    "search_text_delete": """
        CREATE TRIGGER search_text_delete AFTER DELETE ON directory_searchentry WHEN old.kind = 0
        BEGIN DELETE FROM directory_searchtext WHERE rowid = old.therapist_id; END
    """,
    "search_text_update": """
        CREATE TRIGGER search_text_update AFTER UPDATE OF kind, therapist_id, text ON directory_searchentry
        BEGIN
            DELETE FROM directory_searchtext WHERE old.kind = 0 AND rowid = old.therapist_id;
            INSERT INTO directory_searchtext (rowid, text) SELECT new.therapist_id, new.text WHERE new.kind = 0;
        END
    """,
}


def create_triggers(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return  # PostgreSQL indexes the column itself (search_text_trigram)
    schema_editor.execute("DELETE FROM directory_searchtext")
    schema_editor.execute(
        "INSERT INTO directory_searchtext (rowid, text) SELECT therapist_id, text FROM directory_searchentry "
        "WHERE kind = 0"
    )
    for sql in TRIGGERS.values():
        schema_editor.execute(sql)


def drop_triggers(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for name in TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("directory", "0006_search_entries")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
