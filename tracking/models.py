"""Where drivers are: every GPS fix kept (append-only, per tenant), the latest one per
driver kept hot, and whether a driver is on duty (only then may they stream)."""

from __future__ import annotations

from django.db import models

from dispatch.models import Driver


class LocationPing(models.Model):
    """One GPS fix as the phone took it. `recorded_at` is the phone's clock: the same fix
    sent twice (a retry, an offline batch sent again) is stored once."""

    driver = models.ForeignKey(Driver, on_delete=models.CASCADE, related_name="+")
    recorded_at = models.DateTimeField()
    received_at = models.DateTimeField()
    lat = models.FloatField()
    lng = models.FloatField()
    accuracy_m = models.FloatField(null=True, blank=True)
    speed_mps = models.FloatField(null=True, blank=True)
    heading_deg = models.FloatField(null=True, blank=True)
    seq = models.BigIntegerField(help_text="Server sequence (µs since the epoch at receipt).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["driver", "recorded_at"], name="ping_once"),
        ]
        indexes = [models.Index(fields=["recorded_at"], name="ping_recorded")]  # retention

    def __str__(self) -> str:
        return f"{self.driver_id} at {self.recorded_at}: {self.lat}, {self.lng}"


class DriverPosition(models.Model):
    """The newest fix of each driver (by the phone's clock): what maps start from."""

    driver = models.OneToOneField(Driver, on_delete=models.CASCADE, primary_key=True)
    recorded_at = models.DateTimeField()
    lat = models.FloatField()
    lng = models.FloatField()
    accuracy_m = models.FloatField(null=True, blank=True)
    speed_mps = models.FloatField(null=True, blank=True)
    heading_deg = models.FloatField(null=True, blank=True)
    seq = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.driver_id}: {self.lat}, {self.lng}"


class Duty(models.Model):
    """Whether a driver is working now; off duty, the phone's stream is refused."""

    driver = models.OneToOneField(Driver, on_delete=models.CASCADE, primary_key=True)
    on_duty = models.BooleanField(default=False)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.driver_id}: {'on' if self.on_duty else 'off'} duty"
