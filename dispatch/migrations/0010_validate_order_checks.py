"""Validate the checks 0009 added NOT VALID, without blocking reads and writes of the
orders table (as 0008 does): every order has no latest date and kind "delivery" then."""

from django.contrib.postgres.operations import ValidateConstraint
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0009_pickup_recurring_latest_date"),
    ]

    operations = [
        ValidateConstraint(model_name="order", name="order_latest_date_after_delivery_date"),
        ValidateConstraint(model_name="order", name="order_kind_valid"),
    ]
