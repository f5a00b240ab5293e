"""Client secrets saved before 0012 were plain text: read them (a value that is not a
Fernet token is returned as stored) and save them again, encrypted."""

from django.db import migrations


def encrypt(apps, schema_editor):
    ShopifyIntegration = apps.get_model("dispatch", "ShopifyIntegration")
    for integration in ShopifyIntegration.objects.exclude(client_secret=None).iterator():
        ShopifyIntegration.objects.filter(pk=integration.pk).update(
            client_secret=integration.client_secret or None
        )


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0012_store_connections")]

    operations = [migrations.RunPython(encrypt, migrations.RunPython.noop)]
