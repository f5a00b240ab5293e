"""The tracking-page settings and EtaPromise now belong to tracking (its 0002 copied them)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0006_order_messages_max'),
        ('tracking', '0002_customer_promise'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='notificationsettings',
            name='brand_colour',
        ),
        migrations.RemoveField(
            model_name='notificationsettings',
            name='eta_window_minutes',
        ),
        migrations.RemoveField(
            model_name='notificationsettings',
            name='tracking_link_ttl_hours',
        ),
        migrations.RemoveField(
            model_name='notificationsettings',
            name='tracking_show_driver_name',
        ),
        migrations.RemoveField(
            model_name='notificationsettings',
            name='tracking_show_map',
        ),
        migrations.RemoveField(
            model_name='notificationsettings',
            name='tracking_show_proof',
        ),
        migrations.RemoveField(
            model_name='notificationsettings',
            name='tracking_show_stops_before',
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='EtaPromise')],
        ),
    ]
