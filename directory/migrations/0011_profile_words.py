"""PostgreSQL: the profiles' word ids also in a narrow table of their own, to count free-text matches.

Counting the profiles whose `words` overlap a query's (migration 0009) is a
bitmap heap scan of the wide search entries: at 100,000 therapists, 38,235
matches for "grief" spread over 15,977 of the table's 16,978 blocks (133 MB,
more than a default `shared_buffers`), 44 to 127 ms. The same ids in
`directory_profilewords` (one row per PROFILE entry: its id and its words)
fill 2,803 blocks, and the count reads them in 9 to 16 ms. Searches keep
testing the entries' own `words`; only the count of a text-only search reads
this table (`SearchEntryQuerySet.count_matching_text`).

Triggers keep it equal to the PROFILE entries: after an entry is written or
deleted, and after the entries are truncated (Django's test flush, the bench
loader). Not a model, as 0009's column is not a field.
"""

from django.db import migrations

PROFILE_WORDS_TABLE = "directory_profilewords"

CREATE = [
    f"CREATE TABLE {PROFILE_WORDS_TABLE} (entry_id bigint PRIMARY KEY, words integer[] NOT NULL)",
    f"""
    CREATE FUNCTION directory_profile_words() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            DELETE FROM {PROFILE_WORDS_TABLE} WHERE entry_id = OLD.id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.kind = 0 AND NEW.words IS NOT NULL THEN
            INSERT INTO {PROFILE_WORDS_TABLE} (entry_id, words) VALUES (NEW.id, NEW.words);
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER profile_words AFTER INSERT OR UPDATE OR DELETE ON directory_searchentry
    FOR EACH ROW EXECUTE FUNCTION directory_profile_words()
    """,
    f"""
    CREATE FUNCTION directory_profile_words_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE {PROFILE_WORDS_TABLE};
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER profile_words_truncate AFTER TRUNCATE ON directory_searchentry
    FOR EACH STATEMENT EXECUTE FUNCTION directory_profile_words_truncate()
    """,
    f"INSERT INTO {PROFILE_WORDS_TABLE} (entry_id, words) "
    "SELECT id, words FROM directory_searchentry WHERE kind = 0 AND words IS NOT NULL",
    f"CREATE INDEX profile_words_gin ON {PROFILE_WORDS_TABLE} USING gin (words)",
    f"ANALYZE {PROFILE_WORDS_TABLE}",
]

DROP = [
    "DROP TRIGGER IF EXISTS profile_words_truncate ON directory_searchentry",
    "DROP FUNCTION IF EXISTS directory_profile_words_truncate()",
    "DROP TRIGGER IF EXISTS profile_words ON directory_searchentry",
    "DROP FUNCTION IF EXISTS directory_profile_words()",
    f"DROP TABLE IF EXISTS {PROFILE_WORDS_TABLE}",
]


def create_profile_words(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for sql in CREATE:
            schema_editor.execute(sql)


def drop_profile_words(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("directory", "0010_search_by_longitude_band")]

    operations = [migrations.RunPython(create_profile_words, drop_profile_words)]
