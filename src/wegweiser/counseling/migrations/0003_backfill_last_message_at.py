# Data only: the next migration makes Conversation.last_message_at NOT NULL (the inbox pages
# through it). enquiry_create always sets it; a row written some other way gets its creation time.

from django.db import migrations
from django.db.models import F


def backfill(apps, schema_editor):
    Conversation = apps.get_model("counseling", "Conversation")
    Conversation.objects.filter(last_message_at__isnull=True).update(last_message_at=F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('counseling', '0002_fewer_hot_indexes'),
    ]

    operations = [
        # Backwards there is nothing to undo: the column stays filled, and may be NULL again.
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
