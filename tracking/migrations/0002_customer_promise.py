"""The customer's promise moves into the day (issue 18): `EtaPromise` keeps its table (only
Django's idea of its app changes), and the tracking-page settings leave
NotificationSettings for their own `TrackingSettings`, with the tenant's values copied."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


SHOWN = [
    "brand_colour", "eta_window_minutes", "tracking_show_map", "tracking_show_driver_name",
    "tracking_show_stops_before", "tracking_show_proof", "tracking_link_ttl_hours",
]


def copy_settings(apps, schema_editor):
    old = apps.get_model("notifications", "NotificationSettings").objects.filter(pk=1).first()
    if old is not None:
        apps.get_model("tracking", "TrackingSettings").objects.update_or_create(
            pk=1, defaults={name: getattr(old, name) for name in SHOWN}
        )


def copy_back(apps, schema_editor):
    """Migrating back: NotificationSettings has its columns again (notifications 0007 kept
    them in the table), and takes the values the tenant set since."""
    new = apps.get_model("tracking", "TrackingSettings").objects.filter(pk=1).first()
    if new is not None:
        apps.get_model("notifications", "NotificationSettings").objects.update_or_create(
            pk=1, defaults={name: getattr(new, name) for name in SHOWN}
        )


class Migration(migrations.Migration):

    dependencies = [
        ('dispatch', '0003_fleet_rules'),
        ('tracking', '0001_initial'),
        ('notifications', '0006_order_messages_max'),
    ]

    operations = [
        migrations.CreateModel(
            name='TrackingSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('brand_colour', models.CharField(default='#0b63ce', max_length=7, validators=[django.core.validators.RegexValidator('^#[0-9a-fA-F]{6}$', 'A colour like #0b63ce.')])),
                ('eta_window_minutes', models.PositiveIntegerField(default=60, help_text='How wide the arrival window promised to the customer is.', validators=[django.core.validators.MinValueValidator(10), django.core.validators.MaxValueValidator(240)])),
                ('tracking_show_map', models.BooleanField(default=True)),
                ('tracking_show_driver_name', models.BooleanField(default=True)),
                ('tracking_show_stops_before', models.BooleanField(default=True)),
                ('tracking_show_proof', models.BooleanField(default=True, help_text="The delivery photo, signature and recipient's name.")),
                ('tracking_link_ttl_hours', models.PositiveIntegerField(default=24, help_text='The tracking link stops working this long after the delivery.')),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='EtaPromise',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('starts_at', models.DateTimeField()),
                        ('ends_at', models.DateTimeField()),
                        ('changes', models.PositiveIntegerField(default=0)),
                        ('first_starts_at', models.DateTimeField(blank=True, null=True)),
                        ('first_ends_at', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('order', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='eta_promise', to='dispatch.order')),
                    ],
                    options={
                        'db_table': 'notifications_etapromise',
                    },
                ),
            ],
        ),
        migrations.RunPython(copy_settings, copy_back),
    ]
