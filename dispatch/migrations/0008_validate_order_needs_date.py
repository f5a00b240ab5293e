"""Validate the check 0007 added NOT VALID: ALTER TABLE … VALIDATE CONSTRAINT reads the
orders already there under a SHARE UPDATE EXCLUSIVE lock, so orders are still read and
written meanwhile (every order has a date until 0007, so it always holds)."""

from django.contrib.postgres.operations import ValidateConstraint
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0007_order_needs_date"),
    ]

    operations = [
        ValidateConstraint(model_name="order", name="order_without_date_is_not_planned"),
    ]
