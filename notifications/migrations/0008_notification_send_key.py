"""Every message gets a key of its own, carried in its status callback URL (its identity
at the provider does not depend on its text). Messages that may still be sent or looked
up (pending, sending) get one now; finished ones keep none. The column stays nullable so
that processes of the release before this one can still write rows while tenants migrate.
"""

import secrets

from django.db import migrations, models

import notifications.models


def keys_for_unfinished(apps, schema_editor) -> None:
    Notification = apps.get_model("notifications", "Notification")
    unfinished = Notification.objects.filter(
        status__in=["pending", "sending"], send_key__isnull=True
    )
    for pk in unfinished.values_list("pk", flat=True).iterator():
        Notification.objects.filter(pk=pk).update(send_key=secrets.token_urlsafe(16))


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0007_customer_promise"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="send_key",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(keys_for_unfinished, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="notification",
            name="send_key",
            field=models.CharField(
                default=notifications.models.new_send_key,
                editable=False,
                max_length=32,
                null=True,
                unique=True,
            ),
        ),
    ]
