"""DRF's authtoken is gone: drop its table, whose keys were API tokens stored in plain text.

No data to carry over: those tokens stopped working when knox replaced DRF's
TokenAuthentication, and their holders sign in again. A database created after
the change never had the table, hence IF EXISTS.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = []

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop),
    ]
