"""The tracking-page settings and EtaPromise now belong to tracking (its 0002 copied them).

The seven columns leave the model, not yet the table: processes of the release before this
one still read them while tenants migrate (docs/operations.md, "Upgrading"). Here they only
lose NOT NULL, so that rows made by this release need no values for them; a later
release drops them.
"""

from django.core import validators
from django.db import migrations, models

SHOWN = {
    "brand_colour": models.CharField(
        max_length=7,
        null=True,
        validators=[validators.RegexValidator("^#[0-9a-fA-F]{6}$", "A colour like #0b63ce.")],
    ),
    "eta_window_minutes": models.PositiveIntegerField(null=True),
    "tracking_link_ttl_hours": models.PositiveIntegerField(null=True),
    "tracking_show_driver_name": models.BooleanField(null=True),
    "tracking_show_map": models.BooleanField(null=True),
    "tracking_show_proof": models.BooleanField(null=True),
    "tracking_show_stops_before": models.BooleanField(null=True),
}


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0006_order_messages_max'),
        ('tracking', '0002_customer_promise'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterField(
                    model_name="notificationsettings", name=name, field=field
                )
                for name, field in SHOWN.items()
            ],
            state_operations=[
                migrations.RemoveField(model_name="notificationsettings", name=name)
                for name in SHOWN
            ],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='EtaPromise')],
        ),
    ]
