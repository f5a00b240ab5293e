"""What the hub writes and sends for thousands of fixes a second, by hand rather than by
the ORM and json: the same rows and the same messages as the plain way."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django_tenants.utils import schema_context

from tests.tracking.helpers import driver_for
from tracking.models import DriverPosition, LocationPing
from tracking.services.day import Fix, fixes_store


@pytest.mark.django_db
def test_phone_times_are_stored_to_the_microsecond_and_values_exactly(alpha):
    with schema_context(alpha.tenant.schema_name):
        driver = driver_for()
        times = [
            dt.datetime(2026, 12, 1, 9, 0, 0, 123457, tzinfo=dt.UTC),
            dt.datetime(2026, 12, 1, 9, 0, 1, tzinfo=dt.UTC),
            dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),  # before the epoch
            dt.datetime(2026, 12, 1, 10, 0, 2, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        ]
        fixes = [
            Fix(times[0], 51.123456789012, -0.1, 1e-05, 8.3, 359.99),
            Fix(times[1], -89.999999, 179.999999, None, None, None),
            Fix(times[2], 0.0, 0.0, 100_000.0, 0.0, 0.0),
            Fix(times[3], 1 / 3, -2 / 3, 5.0, None, 90.0),
        ]
        stored = fixes_store([(driver.pk, f, 10 + k) for k, f in enumerate(fixes)])
        assert sorted(stored.new, key=lambda x: x[2]) == [
            (driver.pk, f, 10 + k) for k, f in enumerate(fixes)
        ]
        rows = LocationPing.objects.filter(driver=driver).order_by("seq")
        assert [
            Fix(r.recorded_at, r.lat, r.lng, r.accuracy_m, r.speed_mps, r.heading_deg) for r in rows
        ] == fixes
        assert [r.recorded_at for r in rows] == times
        assert DriverPosition.objects.get(driver=driver).recorded_at == times[3]  # the newest
        # each comes back as the same instant: sent again, nothing is new
        assert fixes_store([(driver.pk, f, 20) for f in fixes]).new == []


def test_a_fix_as_json_is_its_message_with_the_name():
    fixes = [
        Fix(dt.datetime(2026, 12, 1, 9, 0, 0, 123457, tzinfo=dt.UTC), 51.5, -0.12, 8.0, 6.5, 0.0),
        Fix(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), 1e-05, 180.0, None, None, None),
    ]
    for name in ["Ann", 'Bob "the van" \\ Smith', "Zoë </script>", ""]:
        for fix in fixes:
            assert json.loads(fix.as_json(7, 123, name)) == {
                **fix.as_message(7, 123),
                "name": name,
            }
